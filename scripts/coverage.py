#!/usr/bin/env python3
"""Line coverage of codegen/ and runtime/cpu_* from `gcov -t` dumps
(/tmp/gcov.*.txt, written by `scripts/dev.sh coverage`): per file the lines
run and the lines never run, then the total."""
import glob,re,sys,collections
files=collections.OrderedDict()
for p in sorted(glob.glob('/tmp/gcov.*.txt')):
    src=None
    for line in open(p):
        m=re.match(r'\s*([^:]+):\s*(\d+):(.*)',line)
        if not m: continue
        cnt,no,code=m.groups()
        if no=='0':
            if code.startswith('Source:'): src=code.split('Source:')[1]; files.setdefault(src,{})
            continue
        cnt=cnt.strip()
        if cnt=='-' or src is None: continue
        d=files[src]; n=int(no)
        hit=not (cnt.startswith('#####') or cnt.startswith('====='))
        d[n]=(d.get(n,(False,''))[0] or hit, code.strip()[:110])
tot=cov=0
for src,d in files.items():
    if not ('/codegen/' in src or '/runtime/cpu_' in src): continue
    t=len(d); c=sum(1 for v in d.values() if v[0]); tot+=t; cov+=c
    print('%-28s %4d/%4d %.1f%%'%(src.split('/work/main/')[-1],c,t,100*c/max(t,1)))
    for n in sorted(d):
        if not d[n][0]: print('    %5d: %s'%(n,d[n][1]))
print('TOTAL %d/%d %.2f%%'%(cov,tot,100*cov/tot))
