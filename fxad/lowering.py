"""Lowering a `Jaxpr` to Python + Numba: the fusion plan, kernel source, compilation and
the kernel cache (in memory and on disk).

Plan: maximal runs of elementwise equations over one iteration shape, with the
broadcasts that feed them and the reductions they feed, become one generated Numba
kernel (a loop nest); every other equation runs its NumPy `impl`. A generated Python
driver calls both in program order. Kernels are named by the hash of their source and
written to a cache folder (`FXAD_CACHE_DIR`, default `~/.cache/fxad`), so Numba's own
`cache=True` makes a second process start without recompiling. Numba is imported only here.
"""
import hashlib
import importlib.util
import math
import os
import sys
import tempfile

import numpy as np

from .jaxpr import Var, Lit, Eqn, Jaxpr, Names, dce, cse

REDUCTIONS = {"reduce_sum": "{acc} += {x}",        # accumulator update, NaN-propagating
              "reduce_max": "{acc} = {x} if {x} > {acc} or {x} != {x} else {acc}",
              "reduce_min": "{acc} = {x} if {x} < {acc} or {x} != {x} else {acc}"}
# float64 versions that let LLVM vectorise the loop (a strict `+=` chain would not)
REDUCTIONS_F64 = {"reduce_sum": "{acc} = vmath.reassoc_add_f64({acc}, {x})",
                  "reduce_max": "{acc} = vmath.maximum_f64({acc}, {x})",
                  "reduce_min": "{acc} = vmath.minimum_f64({acc}, {x})"}


def _reduction_init(name, dtype):
    if name == "reduce_sum":
        return literal(0, dtype)
    big = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    return literal(-big if name == "reduce_max" and dtype.kind == "f" else
                   np.iinfo(dtype).min if name == "reduce_max" else big, dtype)


def _template(eqn):
    t = eqn.prim.numba
    return t(eqn) if callable(t) else t


def _is_elementwise(eqn):
    return (not eqn.prim.multiple_results and _template(eqn) is not None
            and eqn.prim.name not in ("broadcast_in_dim",) and eqn.prim.name not in REDUCTIONS)


def index_map(eqn):
    """For a gather/scatter_add whose index is static (ints, slices, None, Ellipsis): per
    axis of the indexed array, `(out_axis, start, step)` such that element `i` of the
    indexed view is `array[..., start + i[out_axis] * step, ...]` (`out_axis` None for an
    integer index: `array[..., start, ...]`). None for indices this cannot express."""
    spec = eqn.params["spec"]
    shape = (eqn.params["shape"] if eqn.prim.name == "scatter_add"
             else eqn.invars[0].aval.shape)
    entries = list(spec.entries)
    used = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if any(isinstance(e, str) for e in entries) or used > len(shape) or \
            entries.count(Ellipsis) > 1:
        return None
    full = (None, None, None, "slice")
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        entries[at:at + 1] = [full] * (len(shape) - used)
    else:
        entries += [full] * (len(shape) - used)
    result, out_axis = [], 0
    for e in entries:
        if e is None:                             # a new axis of length 1: index 0
            out_axis += 1
        elif isinstance(e, tuple):
            start, _, step = slice(*e[:3]).indices(shape[len(result)])
            result.append((out_axis, start, step))
            out_axis += 1
        elif isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
            n = shape[len(result)]
            result.append((None, int(e) + n if e < 0 else int(e), 0))
        else:
            return None
    return result


# --------------------------------------------------------------------------- the plan


class Kernel:
    """A fused group: `uniform` eqns run once before the loop (rank-0 values), `loop`
    eqns run per element of the iteration `shape`; `reduced` values (reductions, scatters)
    are complete only after the loop."""

    def __init__(self, shape):
        self.shape, self.eqns = shape, []
        self.varying, self.uniform, self.reduced = set(), set(), set()

    def accepts(self, eqn):
        ins = [v for v in eqn.invars if type(v) is Var]
        if any(v in self.reduced for v in ins) or not all(
                v.aval.dtype in KERNEL_DTYPES for v in list(eqn.invars) + eqn.outvars):
            return False
        name = eqn.prim.name
        if name in REDUCTIONS:
            x = eqn.invars[0]
            return x.aval.shape == self.shape and x.aval.dtype.kind in "fiu"
        out = eqn.outvars[0].aval
        if name == "broadcast_in_dim":
            return out.shape == self.shape and eqn.invars[0] not in self.varying
        if name == "gather":                  # a strided read of an array made before
            x = eqn.invars[0]
            return (out.shape == self.shape and len(eqn.invars) == 1 and type(x) is Var
                    and x not in self.varying and x.aval.shape != ()
                    and index_map(eqn) is not None)
        if name == "scatter_add":             # a strided store into a zeroed buffer
            return (eqn.invars[0].aval.shape == self.shape and len(eqn.invars) == 1
                    and out.shape != () and index_map(eqn) is not None)
        if not _is_elementwise(eqn):
            return False
        if out.shape == () and self.shape != ():
            return all(v.aval.shape == () and v not in self.varying for v in ins)
        return out.shape == self.shape

    def add(self, eqn):
        self.eqns.append(eqn)
        out = eqn.outvars[0]
        if eqn.prim.name in REDUCTIONS or eqn.prim.name == "scatter_add":
            self.reduced.add(out)
        elif out.aval.shape == () and self.shape != () and not any(
                v in self.varying for v in eqn.invars):
            self.uniform.add(out)
        else:
            self.varying.add(out)


MIN_KERNEL_SIZE = 4096     # elements: smaller arrays fuse only in long chains
# dtypes whose arithmetic Numba does exactly as NumPy (small integers would widen, and
# float16/complex lack support): programs on others run through NumPy
KERNEL_DTYPES = {np.dtype(t) for t in (np.float64, np.float32, np.int64, np.bool_)}
MIN_KERNEL_CHAIN = 6


LOOKAHEAD = 256           # equations a kernel may pull forward past ones it cannot fuse


def plan(jaxpr):
    """Split `jaxpr.eqns` into steps: lists of `Kernel`s (one fused function each) and
    single equations run by their NumPy `impl`. A kernel also takes later equations it
    accepts that do not depend on the equations it skips (they run after it)."""
    steps, eqns, known, constants = [], list(jaxpr.eqns), set(jaxpr.constvars), []
    while eqns:
        eqn = eqns.pop(0)
        shape = (eqn.invars[0].aval.shape if eqn.prim.name in REDUCTIONS
                 else eqn.outvars[0].aval.shape if not eqn.prim.multiple_results else None)
        kernel = Kernel(shape)
        if all(type(v) is Lit or v in known for v in eqn.invars):
            known.update(eqn.outvars)         # a constant: `Program` computes it once,
            constants.append(eqn)             # at lowering, so it goes first
            continue
        if shape is None or not kernel.accepts(eqn):
            steps.append(eqn)
            continue
        kernel.add(eqn)
        skipped, later = set(), []
        for i, e in enumerate(eqns):
            if i >= LOOKAHEAD:
                later += eqns[i:]
                break
            if not any(v in skipped for v in e.invars) and kernel.accepts(e):
                kernel.add(e)
            else:
                later.append(e)
                skipped.update(e.outvars)
        eqns = later
        steps.append(kernel)
    fused, run = [], []            # run: consecutive small loop nests, fused together

    def flush():
        if sum(map(_work, run)) >= MIN_KERNEL_CHAIN:
            fused.append(list(run))
        else:
            fused.extend(e for k in run for e in k.eqns)
        run.clear()

    for step in steps:
        if isinstance(step, Kernel) and not _worth_alone(step):
            run.append(step)
            continue
        flush()
        fused.append([step] if isinstance(step, Kernel) else step)
    flush()
    return constants + fused


def _work(kernel):
    """Equations run per element (not once, before the loop)."""
    return sum(1 for e in kernel.eqns if e.outvars[0] not in kernel.uniform)


def _worth_alone(kernel):
    """A loop nest over a sizeable array pays for its compile time on its own once it fuses
    two equations. Nests over small arrays are fused with their small neighbours (a
    softmax over short rows: reductions, then broadcasts of their results) into one
    function, compiled when together they make a long chain: NumPy's per-call cost then
    adds up."""
    return _work(kernel) >= 2 and math.prod(kernel.shape) >= MIN_KERNEL_SIZE


# --------------------------------------------------------------------------- source


def literal(val, dtype=None):
    """Source text for a scalar constant, typed like `dtype` (so float32 stays float32)."""
    val = np.asarray(val)
    dtype = val.dtype if dtype is None else np.dtype(dtype)
    if dtype == np.bool_:
        return repr(bool(val))
    if dtype.kind in "iu":
        text = repr(int(val))
    else:
        v = float(val)
        text = ("np.nan" if v != v else "np.inf" if v == np.inf else "-np.inf" if v == -np.inf
                else repr(v))
    return text if dtype in (np.float64, np.int64) else f"np.{dtype.name}({text})"


def _eqn_comment(eqn, name, typed=True):
    """The equation as a comment; kernels omit shapes (`typed=False`) so that one kernel's
    source, and so its compiled code, serves every shape of the same rank."""
    params = " ".join(f"{k}=<program>" if isinstance(v, (Jaxpr, tuple)) and any(
        isinstance(j, Jaxpr) for j in (v if isinstance(v, tuple) else (v,))) else f"{k}={v}"
        for k, v in eqn.params.items() if typed or k != "shape")
    args = " ".join(repr(v) if type(v) is Lit else name(v) for v in eqn.invars)
    outs = " ".join(f"{name(v)}:{v.aval}" if typed else name(v) for v in eqn.outvars)
    return f"{outs} = {eqn.prim}{'[' + params + ']' if params else ''} {args}"


def _nest(kernel, k, name, arrays, needed, offsets):
    """Source lines of one loop nest (kernel `k` of a fused function). `arrays` maps vars
    available as whole arrays/scalars to their names (updated with this nest's results);
    `needed` are the vars read after this nest; `offsets` collects the shape-dependent
    integers of strided reads and stores (kernel arguments, so the source is not)."""
    rank = len(kernel.shape)
    idx = [f"i{d}" for d in range(rank)]
    produced = {e.outvars[0] for e in kernel.eqns}
    pre, body, post, loads = [], [], [], {}

    def ref(v):
        if type(v) is Lit:
            return literal(v.val, v.aval.dtype)
        if v in produced or v.aval.shape == ():
            return name(v) if v in produced else arrays[v]
        if v not in loads:                       # a full-shape input: load it per element
            loads[v] = f"{name(v)}e"
            body.append(f"{loads[v]} = {arrays[v]}[{', '.join(idx)}]")
        return loads[v]

    stored, row, row_pre, row_post = [], None, [], []
    for eqn in kernel.eqns:
        out = eqn.outvars[0]
        comment = f"  # {_eqn_comment(eqn, name, typed=False)}"
        pname = eqn.prim.name
        if pname in ("gather", "scatter_add"):
            imap, j = index_map(eqn), len(offsets)
            shape = eqn.params.get("shape", ())
            offsets.append(tuple(start for _, start, _ in imap) + tuple(shape))
            # a strided view made before the loop, so the loop indexes from 0 (LLVM then
            # proves the indices non-negative and vectorises; `o[m] + i` it would not)
            window = ", ".join(f"o{j}[{m}]" if axis is None else f"o{j}[{m}]:" if step == 1
                               else f"o{j}[{m}]::{step}"
                               for m, (axis, _, step) in enumerate(imap))
            sub = ", ".join(idx[axis] for axis, _, _ in imap if axis is not None)
            if pname == "gather":
                source = arrays[eqn.invars[0]]
            else:
                dims = "".join(f"o{j}[{len(imap) + d}], " for d in range(len(shape)))
                pre.append(f"{name(out)} = np.zeros(({dims}), np.{out.aval.dtype.name})")
                source = name(out)
            element = f"{source}[{window}]"           # one element: no view needed
            if sub:
                pre.append(f"{name(out)}w = {element}")
                element = f"{name(out)}w[{sub}]"
            body.append(f"{name(out)} = {element}{comment}" if pname == "gather" else
                        f"{element} = {ref(eqn.invars[0])}{comment}")
            arrays[out] = name(out)
        elif pname == "broadcast_in_dim":
            x = eqn.invars[0]
            if x.aval.shape == ():
                body.append(f"{name(out)} = {ref(x)}{comment}")
            else:
                dims = eqn.params["broadcast_dimensions"]
                sub = [idx[d] if x.aval.shape[i] != 1 else "0" for i, d in enumerate(dims)]
                body.append(f"{name(out)} = {arrays[x]}[{', '.join(sub)}]{comment}")
        elif pname in REDUCTIONS:
            axes = eqn.params["axes"]
            kept = [idx[d] for d in range(rank) if d not in axes]
            dtype = out.aval.dtype
            wide = np.dtype(np.float64) if pname == "reduce_sum" and dtype.kind == "f" else dtype
            init = _reduction_init(pname, wide)        # float32 sums accumulate in float64
            if kept and axes == tuple(range(len(kept), rank)) and row in (None, len(kept)):
                row = len(kept)                 # a reduction over the inner loops: a
                shape = ", ".join(f"n{d}" for d in range(row))    # register per row
                pre.append(f"{name(out)} = np.empty(({shape},), np.{wide.name})")
                acc = f"{name(out)}r"
                row_pre.append(f"{acc} = {init}")
                row_post.append(f"{name(out)}[{', '.join(kept)}] = {acc}")
            elif kept:
                shape = ", ".join(f"n{d}" for d in range(rank) if d not in axes)
                pre.append(f"{name(out)} = np.full(({shape},), {init}, np.{wide.name})")
                acc = f"{name(out)}[{', '.join(kept)}]"
            else:
                pre.append(f"{name(out)} = {init}")
                acc = name(out)
            update = (REDUCTIONS_F64 if eqn.invars[0].aval.dtype == np.float64
                      else REDUCTIONS)[pname]
            body.append(update.format(acc=acc, x=ref(eqn.invars[0])) + comment)
            arrays[out] = name(out)
            if wide != dtype:
                cast = f".astype(np.{dtype.name})" if kept else ""
                post.append(f"{name(out)} = {name(out)}{cast}" if kept else
                            f"{name(out)} = np.{dtype.name}({name(out)})")
        else:
            expr = _template(eqn).format(*[ref(v) for v in eqn.invars], **eqn.params)
            (pre if out in kernel.uniform else body).append(f"{name(out)} = {expr}{comment}")
            arrays[out] = name(out)
        if out in needed and out in kernel.varying and rank:
            body.append(f"{name(out)}o[{', '.join(idx)}] = {name(out)}")
            stored.append(out)
            arrays[out] = f"{name(out)}o"
    dims = ", ".join(f"n{d}" for d in range(rank)) + ("," if rank == 1 else "")
    lines = [f"n{', n'.join(map(str, range(rank)))}, = shape{k}" if rank else ""]
    lines += [f"{name(v)}o = np.empty(({dims}), np.{v.aval.dtype.name})" for v in stored]
    lines += pre
    indent = ""
    for d in range(rank):
        lines += [indent + l for l in row_pre] if d == row else []
        lines.append(f"{indent}for i{d} in range(n{d}):")
        indent += "    "
    row_post = ["    " * row + l for l in row_post] if row is not None else []
    return [l for l in lines if l] + [indent + l for l in body] + row_post + post


def kernel_source(kernels, used_later):
    """(function name, source, input vars, output vars, offsets) of one fused function
    running `kernels` (loop nests) in order; `used_later` = vars read after all of them.
    It is called as `fn(*shapes, *inputs, *offsets)`."""
    name = Names("_")
    produced = {e.outvars[0] for kern in kernels for e in kern.eqns}
    inputs = list(dict.fromkeys(v for kern in kernels for e in kern.eqns for v in e.invars
                                if type(v) is Var and v not in produced))
    arrays = {v: name(v) for v in inputs}
    needed_after = []
    needed = set(used_later)
    for kern in reversed(kernels):
        needed_after.append(set(needed))
        needed.update(v for e in kern.eqns for v in e.invars if type(v) is Var)
    needed_after.reverse()
    lines, offsets = [], []
    for k, kern in enumerate(kernels):
        lines += _nest(kern, k, name, arrays, needed_after[k], offsets)
    outputs = [e.outvars[0] for kern in kernels for e in kern.eqns
               if e.outvars[0] in used_later]
    results = [arrays[v] for v in outputs]
    args = ([f"shape{k}" for k in range(len(kernels))] + [name(v) for v in inputs]
            + [f"o{j}" for j in range(len(offsets))])
    source = "\n".join([f"def {{fname}}({', '.join(args)}):"] + ["    " + l for l in lines]
                        + [f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})"])
    if "vmath." in source:                  # its version is part of the cache key
        from . import vmath
        source = f"# uses fxad.vmath {vmath.VERSION}\n" + source
    fname = f"kernel_{hashlib.sha1(source.encode()).hexdigest()[:16]}"
    return fname, source.replace("{fname}", fname), inputs, outputs, offsets


# --------------------------------------------------------------------------- compile

_kernels = {}          # function name -> compiled kernel (this process)
_HEADER = ("# Generated by fxad.lowering: fused loop nests; do not edit.\n"
           "import numpy as np\nimport numba\nfrom fxad import vmath\n\n\n"
           "@numba.njit(cache=True, error_model='numpy', nogil=True)\n")


def cache_dir():
    path = os.environ.get("FXAD_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "fxad")
    os.makedirs(path, exist_ok=True)
    return path


def load_kernel(fname, source):
    """The compiled kernel for `source`: from memory, from the disk cache, or compiled now.
    The module file is written atomically and never rewritten, so Numba's on-disk cache
    (keyed by file and timestamp) stays valid across processes."""
    fn = _kernels.get(fname)
    if fn is not None:
        return fn
    path = os.path.join(cache_dir(), f"{fname}.py")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(_HEADER + source + "\n")
        try:
            os.link(tmp, path)            # atomic; fails if another process won the race
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    modname = f"fxad_{fname}"
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module               # Numba's disk cache re-imports it by name
    spec.loader.exec_module(module)
    fn = _kernels[fname] = getattr(module, fname)
    return fn


def fold_reshapes(jaxpr):
    """Reshapes that only insert or drop unit axes (`keepdims` writes them around
    reductions) split loop nests; fold them away: into the broadcast or reshape that
    reads them, and past an elementwise equation whose operands all come through such
    reshapes of one shape (it then computes in that shape)."""
    from .core import registry, ShapedArray
    squeeze = lambda shape: tuple(n for n in shape if n != 1)            # noqa: E731
    unit_of, sub, eqns = {}, {}, []                # unit_of[y] = x: y is x with unit axes
    for eqn in jaxpr.eqns:
        ins = [sub.get(v, v) if type(v) is Var else v for v in eqn.invars]
        out, name = eqn.outvars[0], eqn.prim.name
        if name == "reshape":
            x = unit_of.get(ins[0], ins[0])
            if x.aval.shape == out.aval.shape:
                sub[out] = x
                continue
            if squeeze(x.aval.shape) == squeeze(out.aval.shape):
                unit_of[out] = x
            ins = [x]
        elif name == "broadcast_in_dim" and ins[0] in unit_of and \
                1 not in unit_of[ins[0]].aval.shape:
            y = ins[0]
            dims = tuple(d for d, n in zip(eqn.params["broadcast_dimensions"], y.aval.shape)
                         if n != 1)
            eqns.append(Eqn(eqn.prim, [unit_of[y]], [out],
                            dict(eqn.params, broadcast_dimensions=dims)))
            continue
        elif _is_elementwise(eqn) and all(v in unit_of if type(v) is Var else
                                          v.aval.shape == () for v in ins):
            shapes = {unit_of[v].aval.shape for v in ins if type(v) is Var}
            if len(shapes) == 1:
                inner = Var(ShapedArray(shapes.pop(), out.aval.dtype))
                eqns.append(Eqn(eqn.prim, [unit_of.get(v, v) for v in ins], [inner],
                                eqn.params))
                eqns.append(Eqn(registry["reshape"], [inner], [out],
                                {"new_sizes": out.aval.shape}))
                unit_of[out] = inner
                continue
        eqns.append(Eqn(eqn.prim, ins, eqn.outvars, eqn.params))
    outvars = [sub.get(v, v) if type(v) is Var else v for v in jaxpr.outvars]
    return dce(Jaxpr(jaxpr.constvars, jaxpr.consts, jaxpr.invars, eqns, outvars))


def merge_scatters(jaxpr):
    """In a sum of terms (a tree of `add`s), scatter-adds through the same static index
    are merged: `scatter_add(u, s) + ... + scatter_add(w, s)` -> `scatter_add(u + w, s)`,
    one buffer instead of two. Reverse mode writes such sums for every variable read
    through several slices (`x[1:]`, `x[:-1]`)."""
    from .core import registry
    add = registry["add"]
    define, uses = {}, {}
    for eqn in jaxpr.eqns:
        define.update((v, eqn) for v in eqn.outvars)
        for v in eqn.invars:
            uses[v] = uses.get(v, 0) + 1
    for v in jaxpr.outvars:
        uses[v] = uses.get(v, 0) + 2
    only_use = lambda v, name: uses.get(v) == 1 and v in define and \
        define[v].prim.name == name
    internal = {v for e in jaxpr.eqns if e.prim.name == "add"
                for v in e.invars if only_use(v, "add")}

    def leaves(v, tree):
        if v in internal:
            tree.append(define[v])
            for w in define[v].invars:
                yield from leaves(w, tree)
        else:
            yield v

    removed, replace = set(), {}
    for eqn in jaxpr.eqns:
        if eqn.prim.name != "add" or eqn.outvars[0] in internal:
            continue
        tree, groups, rest = [eqn], {}, []
        for v in list(leaves(eqn.invars[0], tree)) + list(leaves(eqn.invars[1], tree)):
            s = define.get(v)
            if only_use(v, "scatter_add") and len(s.invars) == 1:
                groups.setdefault((s.params["spec"], s.params["shape"]), []).append(s)
            else:
                rest.append(v)
        if all(len(g) == 1 for g in groups.values()):
            continue
        new, terms = [], list(rest)

        def total(values, out=None):
            acc = values[0]
            for i, x in enumerate(values[1:]):
                last = out is not None and i == len(values) - 2
                nxt = out if last else Var(acc.aval)
                new.append(Eqn(add, [acc, x], [nxt], {}))
                acc = nxt
            return acc
        for group in groups.values():
            summed = total([s.invars[0] for s in group])
            v = Var(group[0].outvars[0].aval)
            new.append(Eqn(group[0].prim, [summed], [v], group[0].params))
            terms.append(v)
            removed.update(group)
        removed.update(tree)
        if len(terms) == 1:            # one scatter is the whole sum: rename its output
            new[-1].outvars = eqn.outvars
        else:
            total(terms, eqn.outvars[0])
        replace[eqn] = new
    eqns = [n for e in jaxpr.eqns for n in replace.get(e, [] if e in removed else [e])]
    return Jaxpr(jaxpr.constvars, jaxpr.consts, jaxpr.invars, eqns, jaxpr.outvars)


class Program:
    """The driver source and kernels for one jaxpr; `build()` compiles it."""

    def __init__(self, jaxpr):
        self.jaxpr = jaxpr = merge_scatters(cse(fold_reshapes(dce(jaxpr))))
        self.steps = plan(jaxpr)
        self.kernels = []                       # (fname, source)
        self.namespace = {"np": np}
        name = Names("_")
        later_uses = self._later_uses()
        lines = [f"def program({', '.join(name(v) for v in jaxpr.invars)}):"]
        for v, c in zip(jaxpr.constvars, jaxpr.consts):
            self.namespace[name(v)] = c
        known = set(jaxpr.constvars)            # values fixed at lowering time
        for i, step in enumerate(self.steps):
            if isinstance(step, list):
                fname, source, ins, outs, offsets = kernel_source(step, later_uses[i])
                self.kernels.append((fname, source))
                lines.append(f"    # fused: {sum(len(k.eqns) for k in step)} equations "
                             f"in {len(step)} loop nest(s)")
                lhs = "".join(f"{name(v)}, " for v in outs)
                shapes = ", ".join("(" + "".join(f"{n}, " for n in k.shape) + ")" for k in step)
                args = [f"{name(v)}[()]" if v.aval.shape == () else name(v)
                        for v in ins]               # 0-d arrays enter kernels as scalars
                args = ", ".join([shapes] + args + [repr(o) for o in offsets])
                lines.append(f"    {lhs}= {fname}({args})")
                for v in outs:
                    if v.aval.shape == ():
                        self.namespace[f"t_{v.aval.dtype.name}"] = v.aval.dtype.type
                        lines.append(f"    {name(v)} = t_{v.aval.dtype.name}({name(v)})")
            elif all(type(v) is Lit or v in known for v in step.invars):
                eqn = step                          # constant: computed once, here
                out = eqn.prim.impl(*[v.val if type(v) is Lit else self.namespace[name(v)]
                                      for v in eqn.invars], **eqn.params)
                for v, val in zip(eqn.outvars, out if eqn.prim.multiple_results else [out]):
                    self.namespace[name(v)] = val
                    known.add(v)
                lines.append(f"    # folded at lowering: {_eqn_comment(eqn, name)}")
            else:
                eqn = step
                impl = f"impl_{eqn.prim.name}"
                self.namespace[impl] = eqn.prim.impl
                args = [self._literal(v) if type(v) is Lit else name(v)
                        for v in eqn.invars]
                if eqn.params:
                    self.namespace[f"params_{i}"] = {k: _compiled_programs(v)
                                                     for k, v in eqn.params.items()}
                    args.append(f"**params_{i}")
                lhs = ", ".join(name(v) for v in eqn.outvars)
                lhs += "," if eqn.prim.multiple_results and len(eqn.outvars) == 1 else ""
                lines.append(f"    {lhs} = {impl}({', '.join(args)})  "
                             f"# {_eqn_comment(eqn, name)}")
        outs = [self._literal(v) if type(v) is Lit else name(v)
                for v in jaxpr.outvars]
        lines.append(f"    return [{', '.join(outs)}]")
        self.source = "\n".join(lines)

    def _literal(self, lit):
        """A literal argument of a NumPy call or an output: a typed NumPy scalar."""
        key = f"lit_{len(self.namespace)}"
        self.namespace[key] = np.asarray(lit.val, lit.aval.dtype)[()]
        return key

    def _later_uses(self):
        """For each step, the set of vars it defines that later steps or outputs read."""
        needed = {v for v in self.jaxpr.outvars if type(v) is Var}
        result = [None] * len(self.steps)
        for i in range(len(self.steps) - 1, -1, -1):
            step = self.steps[i]
            eqns = [e for k in step for e in k.eqns] if isinstance(step, list) else [step]
            result[i] = set(needed)
            for e in eqns:
                needed.update(v for v in e.invars if type(v) is Var)
        return result

    def build(self):
        for fname, source in self.kernels:
            self.namespace[fname] = load_kernel(fname, source)
        exec(compile(self.source, "<fxad program>", "exec"), self.namespace)
        return self.namespace["program"]

    def __str__(self):
        return "\n\n".join([self.source] + [s for _, s in self.kernels])


def _compiled_programs(param):
    """Sub-programs of control flow run compiled too."""
    if isinstance(param, Jaxpr):
        return compile_jaxpr(param)
    if isinstance(param, tuple) and param and all(isinstance(p, Jaxpr) for p in param):
        return tuple(compile_jaxpr(p) for p in param)
    return param


def compile_jaxpr(jaxpr):
    """A Python callable running `jaxpr` (flat arrays in, list of arrays out) compiled."""
    fn = Program(jaxpr).build()
    fn.out_avals = jaxpr.out_avals
    return fn


class Lowered:
    """What `jit(f).lower(*args)` shows: the program, the fusion plan, the generated code."""

    def __init__(self, jaxpr):
        self.jaxpr = jaxpr
        self.program = Program(jaxpr)

    @property
    def plan(self):
        lines = []
        for step in self.program.steps:
            if isinstance(step, list):
                lines.append("fused function:")
                lines += [f"  loop nest over {k.shape}: " + ", ".join(e.prim.name for e in k.eqns)
                          for k in step]
            else:
                lines.append(f"numpy: {step.prim.name}")
        return "\n".join(lines)

    @property
    def source(self):
        return str(self.program)

    def compile(self):
        return self.program.build()

    def __str__(self):
        return (f"--- program ---\n{self.jaxpr}\n\n--- plan ---\n{self.plan}\n\n"
                f"--- generated source ---\n{self.source}")
