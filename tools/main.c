#include "tools/cli.h"

int main(int argc, char **argv)
{
    return sf_tool_main(argc, argv, stdout, stderr);
}
