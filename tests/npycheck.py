#!/usr/bin/env python3
"""npycheck.py DIR... - recomputes each dumped case's output from its dumped inputs, in plain
Python float64 (no numpy), and compares it with the dumped output: the dumps are the kernel's
real inputs and outputs, and they agree with the definition. Knows attention.flash,
attention.softmax and attention.reference (the operation attention.softmax), attention.window
and attention.linear (elu1/relu, no decay); exits 1 on a mismatch."""
import ast, json, math, os, struct, sys

def load_npy(path):
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:6] == b'\x93NUMPY', path
    hlen = struct.unpack('<H', data[8:10])[0]
    header = ast.literal_eval(data[10:10 + hlen].decode('latin1'))
    assert header['descr'] == '<f4' and not header['fortran_order'], header
    n = 1
    for s in header['shape']:
        n *= s
    vals = struct.unpack('<%df' % n, data[10 + hlen:10 + hlen + 4 * n])
    return header['shape'], vals

def rows(vals, shape):
    b, h, n, d = shape
    return [[[list(vals[((bi * h + hi) * n + i) * d:((bi * h + hi) * n + i + 1) * d]) for i in range(n)]
             for hi in range(h)] for bi in range(b)]

def softmax_attention(q, k, v, visible):
    d = len(q[0])
    out = []
    for i, qi in enumerate(q):
        js = [j for j in range(len(k)) if visible(i, j)]
        s = [sum(a * b for a, b in zip(qi, k[j])) / math.sqrt(d) for j in js]
        m = max(s)
        w = [math.exp(x - m) for x in s]
        z = sum(w)
        out.append([sum(w[t] * v[j][c] for t, j in enumerate(js)) / z for c in range(d)])
    return out

def linear_attention(q, k, v, causal, feature):
    phi = (lambda x: x + 1 if x > 0 else math.exp(x)) if feature == 'elu1' else (lambda x: max(x, 0.0))
    fq = [[phi(x) for x in r] for r in q]
    fk = [[phi(x) for x in r] for r in k]
    out = []
    for i in range(len(q)):
        js = range(i + 1) if causal else range(len(k))
        w = [sum(a * b for a, b in zip(fq[i], fk[j])) for j in js]
        z = sum(w)
        out.append([sum(w[t] * v[j][c] for t, j in enumerate(js)) / z for c in range(len(v[0]))])
    return out

def check(case_dir):
    man = json.load(open(os.path.join(case_dir, 'manifest.json')))
    sh = man['shape']
    kern = man['kernel']
    t = {n: load_npy(os.path.join(case_dir, n + '.npy')) for n in ('q', 'k', 'v', 'o')}
    Q, K, V, O = (rows(t[n][1], t[n][0]) for n in ('q', 'k', 'v', 'o'))
    H, HKV = sh['heads'], sh['kv_heads']
    num = den = 0.0
    for b in range(sh['batch']):
        for h in range(H):
            g = h // (H // HKV)
            q, k, v = Q[b][h], K[b][g], V[b][g]
            if kern in ('attention.flash', 'attention.softmax', 'attention.reference'):  # operation attention.softmax
                ref = softmax_attention(q, k, v, (lambda i, j: j <= i) if sh['causal'] else (lambda i, j: True))
            elif kern == 'attention.window':
                W = sh['window_len']
                ref = softmax_attention(q, k, v, lambda i, j: i - W < j <= i)
            elif kern == 'attention.linear':
                if sh.get('decay') or sh.get('decode'):
                    return None
                ref = linear_attention(q, k, v, sh['causal'], sh['feature_map'])
            else:
                return None
            for i, r in enumerate(ref):
                for c, x in enumerate(r):
                    num += (O[b][h][i][c] - x) ** 2
                    den += x * x
    # the output is rounded to the case's dtype (16-bit on GPUs): a tolerance to match
    return math.sqrt(num / den), {'f16': 3e-3, 'bf16': 2e-2}.get(man['dtype'], 1e-4)

bad = 0
for case_dir in sys.argv[1:]:
    res = check(case_dir)
    name = os.path.basename(case_dir.rstrip('/'))
    err, tol = res if res else (None, None)
    if err is None:
        print('# %s: no Python definition here, skipped' % name)
    elif err < tol:
        print('# %s: rel L2 %.2e' % (name, err))
    else:
        print('# %s: dumped output differs from the definition, rel L2 %.2e' % (name, err))
        bad += 1
sys.exit(1 if bad else 0)
