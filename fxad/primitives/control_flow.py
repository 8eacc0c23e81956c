"""Control-flow primitives carrying sub-programs: `cond`, `while`, `scan`.

Sub-programs are closed: constants they capture are hoisted into leading inputs, so
every enclosing interpreter sees them as ordinary operands. AD is uniform:
- jvp: a primal primitive (which also returns what the tangent pass needs) plus a
  *tangent* primitive of the same kind that is linear in the tangents;
- transpose (cond, scan): the same primitive over transposed sub-programs, built by
  linearizing and transposing the sub-program (`transpose_jaxpr`).
The user-facing functions (pytrees, eager fast paths) are in `fxad.lax`.
"""
import numpy as np

from ..core import Primitive, UndefinedPrimal, get_aval, is_float, EVAL, run_in
from ..jaxpr import Jaxpr, Var, eval_jaxpr, dce
from ..staging import trace_to_jaxpr
from .. import ad


def run_jaxpr(jaxpr, *args):
    """Evaluate a sub-program concretely (impls run under the eval interpreter); under
    `jit` the lowering passes sub-programs already compiled (callables)."""
    if callable(jaxpr):
        return jaxpr(*args)
    return run_in(EVAL, eval_jaxpr, jaxpr, *args)


def closed(jaxpr):
    """`jaxpr` with its constants turned into leading inputs: (jaxpr, const values)."""
    return (Jaxpr([], [], jaxpr.constvars + jaxpr.invars, jaxpr.eqns, jaxpr.outvars),
            list(jaxpr.consts))


def trace_closed(fun, avals):
    return closed(trace_to_jaxpr(fun, list(avals)))


def hoist_all(jaxprs, consts):
    """Branches with their own hoisted constants -> branches that all take (every
    branch's constants..., operands...), and the constants in that order."""
    out = []
    for i, (j, c) in enumerate(zip(jaxprs, consts)):
        before = [Var(get_aval(x)) for cs in consts[:i] for x in cs]
        after = [Var(get_aval(x)) for cs in consts[i + 1:] for x in cs]
        own, ops = j.invars[:len(c)], j.invars[len(c):]
        out.append(Jaxpr([], [], before + own + after + ops, j.eqns, j.outvars))
    return tuple(out), [x for cs in consts for x in cs]


def _zeros(aval):
    return np.zeros(aval.shape, aval.dtype)


def jvp_jaxpr(jaxpr, mask, tangents_only=True):
    """Program `(primals..., nonzero tangents...) -> tangents of float outputs` (and the
    primal outputs first unless `tangents_only`). `mask[i]`: input i has a tangent."""
    in_avals = jaxpr.in_avals
    n = len(in_avals)
    float_out = [is_float(a.dtype) for a in jaxpr.out_avals]

    def fun(*args):
        primals, ts = list(args[:n]), iter(args[n:])
        tangents = [next(ts) if m else None for m in mask]
        outs, t_outs = ad.jvp_flat(lambda *a: eval_jaxpr(jaxpr, *a), primals, tangents)
        t_outs = [(_zeros(get_aval(o)) if t is None else t)
                  for o, t, f in zip(outs, t_outs, float_out) if f]
        return t_outs if tangents_only else list(outs) + t_outs

    return trace_closed(fun, in_avals + [a for a, m in zip(in_avals, mask) if m])


def transpose_jaxpr(jaxpr, linear):
    """Program `(non-linear inputs..., output cotangents...) -> cotangents of the linear
    inputs` for a `jaxpr` linear in the inputs flagged by `linear`."""
    in_avals, out_avals = jaxpr.in_avals, jaxpr.out_avals
    n_nonlin = sum(1 for l in linear if not l)

    def fun(*args):
        nonlin, cts = args[:n_nonlin], list(args[n_nonlin:])

        def lin_fun(*lin):
            it_n, it_l = iter(nonlin), iter(lin)
            return eval_jaxpr(jaxpr, *[next(it_l) if l else next(it_n) for l in linear])

        lin_avals = [a for a, l in zip(in_avals, linear) if l]
        _, lin_jaxpr = ad.linearize_flat(lin_fun, [_zeros(a) for a in lin_avals])
        cts_in = ad.backward_pass(lin_jaxpr, cts)
        return [_zeros(a) if c is None else c for a, c in zip(lin_avals, cts_in)]

    return trace_closed(fun, [a for a, l in zip(in_avals, linear) if not l] + out_avals)


def _merge(mask, yes, no):
    """Interleave: yes-items where mask is true, no-items elsewhere."""
    it_y, it_n = iter(yes), iter(no)
    return [next(it_y) if m else next(it_n) for m in mask]


# --------------------------------------------------------------------------- cond

cond_p = Primitive("cond", multiple_results=True)
cond_p.nargs = None


def _cond_impl(index, *args, branches):
    i = int(np.clip(index, 0, len(branches) - 1))
    return run_jaxpr(branches[i], *args)


def _cond_aval(index, *args, branches):
    if index.shape != () or index.dtype.kind not in "iub":
        raise TypeError(f"cond needs a scalar integer or boolean index, got {index}")
    return branches[0].out_avals


def _cond_jvp(primals, tangents, branches):
    index, args, t_args = primals[0], primals[1:], tangents[1:]
    outs = cond_p.bind(index, *args, branches=branches)
    mask = [t is not None for t in t_args]
    if not any(mask):
        return outs, [None] * len(outs)
    t_branches, consts = hoist_all(*zip(*[jvp_jaxpr(b, mask) for b in branches]))
    t_outs = iter(cond_p.bind(index, *consts, *args, *[t for t in t_args if t is not None],
                              branches=t_branches))
    return outs, [next(t_outs) if is_float(get_aval(o).dtype) else None for o in outs]


def _cond_transpose(cts, index, *args, branches):
    linear = [isinstance(a, UndefinedPrimal) for a in args]
    out_avals = branches[0].out_avals
    cts = [_zeros(a) if c is None else c for a, c in zip(out_avals, cts)]
    t_branches, consts = hoist_all(*zip(*[transpose_jaxpr(b, linear) for b in branches]))
    cts_in = cond_p.bind(index, *consts, *[a for a, l in zip(args, linear) if not l], *cts,
                         branches=t_branches)
    return [None] + _merge(linear, cts_in, [None] * (len(args) - sum(linear)))


cond_p.impl, cond_p.abstract_eval = _cond_impl, _cond_aval
cond_p.jvp, cond_p.transpose = _cond_jvp, _cond_transpose


# --------------------------------------------------------------------------- while

while_p = Primitive("while", multiple_results=True)
while_p.nargs = None


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts = args[:cond_nconsts], args[cond_nconsts:cond_nconsts + body_nconsts]
    carry = list(args[cond_nconsts + body_nconsts:])
    while run_jaxpr(cond_jaxpr, *cond_consts, *carry)[0]:
        carry = run_jaxpr(body_jaxpr, *body_consts, *carry)
    return carry


def _while_aval(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    carry = list(args[cond_nconsts + body_nconsts:])
    if body_jaxpr.out_avals != carry:
        raise TypeError(f"while_loop: body_fun must return the carry's types {carry}, "
                        f"got {body_jaxpr.out_avals}")
    return carry


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    carry = primals[nc + nb:]
    if all(t is None for t in tangents):
        return while_p.bind(*primals, cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                            cond_nconsts=nc, body_nconsts=nb), [None] * len(carry)
    consts_mask = [t is not None for t in tangents[nc:nc + nb]]
    carry_mask = [is_float(get_aval(c).dtype) for c in carry]
    body_jvp, extra = jvp_jaxpr(body_jaxpr, consts_mask + carry_mask, tangents_only=False)
    n_carry, n_t = len(carry), sum(carry_mask)
    # joint carry: (primal carry..., carry tangents...); constants: body consts + tangents
    t_consts = [t for t in tangents[nc:nc + nb] if t is not None]
    t_carry = [(_zeros(get_aval(c)) if t is None else t)
               for c, t, m in zip(carry, tangents[nc + nb:], carry_mask) if m]
    cond_aug = _with_ignored_inputs(cond_jaxpr, [a for a, m in zip(
        [get_aval(c) for c in carry], carry_mask) if m])
    body_aug = _permute_body(body_jvp, len(extra), nb, len(t_consts), n_carry, n_t)
    outs = while_p.bind(*primals[:nc], *extra, *primals[nc:nc + nb], *t_consts, *carry,
                        *t_carry, cond_jaxpr=cond_aug, body_jaxpr=body_aug, cond_nconsts=nc,
                        body_nconsts=len(extra) + nb + len(t_consts))
    ts = iter(outs[n_carry:])
    return outs[:n_carry], [next(ts) if m else None for m in carry_mask]


def _with_ignored_inputs(jaxpr, extra_avals):
    return Jaxpr([], [], jaxpr.invars + [Var(a) for a in extra_avals], jaxpr.eqns,
                 jaxpr.outvars)


def _permute_body(body_jvp, n_extra, nb, n_tc, n_carry, n_t):
    """The jvp body takes (extra, consts, carry, t_consts, t_carry); the while loop passes
    (extra, consts, t_consts, carry, t_carry)."""
    v = body_jvp.invars
    extra, consts, carry = v[:n_extra], v[n_extra:n_extra + nb], v[n_extra + nb:n_extra + nb + n_carry]
    rest = v[n_extra + nb + n_carry:]
    t_consts, t_carry = rest[:n_tc], rest[n_tc:]
    return Jaxpr([], [], extra + consts + t_consts + carry + t_carry, body_jvp.eqns,
                 body_jvp.outvars)


def _while_transpose(*args, **params):
    raise NotImplementedError(
        "Reverse-mode differentiation (grad/vjp) through a staged `while_loop` is not "
        "supported: its trip count is not known in advance. Use `fxad.lax.fori_loop` with "
        "constant bounds or `fxad.lax.scan`, or call the function without `jit`, where "
        "loops run eagerly and are differentiable.")


while_p.impl, while_p.abstract_eval = _while_impl, _while_aval
while_p.jvp, while_p.transpose = _while_jvp, _while_transpose


# --------------------------------------------------------------------------- scan

scan_p = Primitive("scan", multiple_results=True)
scan_p.nargs = None


def _scan_impl(*args, body, num_consts, num_carry, length, reverse):
    consts, carry = args[:num_consts], list(args[num_consts:num_consts + num_carry])
    xs = args[num_consts + num_carry:]
    ys = []
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        out = run_jaxpr(body, *consts, *carry, *[x[i] for x in xs])
        carry = out[:num_carry]
        ys.append(out[num_carry:])
    if reverse:
        ys.reverse()
    y_avals = body.out_avals[num_carry:]
    stacked = [np.stack([np.asarray(y[j]) for y in ys]) if ys else
               np.zeros((0,) + a.shape, a.dtype) for j, a in enumerate(y_avals)]
    return list(carry) + stacked


def _scan_aval(*args, body, num_consts, num_carry, length, reverse):
    carry = list(args[num_consts:num_consts + num_carry])
    out = body.out_avals
    if out[:num_carry] != carry:
        raise TypeError(f"scan: the body must return the carry's types {carry}, "
                        f"got {out[:num_carry]}")
    from ..core import ShapedArray
    return carry + [ShapedArray((length,) + a.shape, a.dtype) for a in out[num_carry:]]


def _scan_jvp(primals, tangents, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    params = dict(num_consts=nc, num_carry=nk, length=length, reverse=reverse)
    if all(t is None for t in tangents):
        return scan_p.bind(*primals, body=body, **params), [None] * len(body.outvars)
    consts, carry, xs = primals[:nc], primals[nc:nc + nk], primals[nc + nk:]
    t_consts, t_carry, t_xs = tangents[:nc], tangents[nc:nc + nk], tangents[nc + nk:]
    carry_mask = [is_float(get_aval(c).dtype) for c in carry]
    consts_mask = [t is not None for t in t_consts]
    xs_mask = [t is not None for t in t_xs]
    # primal scan, also stacking the carry each step starts from (the residuals)
    res_body, res_consts = trace_closed(
        lambda *a: list(eval_jaxpr(body, *a)) + list(a[nc:nc + nk]), body.in_avals)
    outs = scan_p.bind(*res_consts, *primals, body=res_body, **dict(
        params, num_consts=nc + len(res_consts)))
    n_out = len(body.outvars)
    primal_outs, res_carry = outs[:n_out], outs[n_out:]
    # tangent scan: consts (consts, t_consts), carry t_carry, xs (res_carry, xs, t_xs)
    t_body_raw, t_body_consts = jvp_jaxpr(body, consts_mask + carry_mask + xs_mask)
    t_body = _tangent_scan_body(t_body_raw, len(t_body_consts), nc, nk, len(xs),
                                sum(consts_mask), sum(carry_mask), sum(xs_mask))
    t_carry_in = [(_zeros(get_aval(c)) if t is None else t)
                  for c, t, m in zip(carry, t_carry, carry_mask) if m]
    t_outs = scan_p.bind(*t_body_consts, *consts, *[t for t in t_consts if t is not None],
                         *t_carry_in, *res_carry, *xs, *[t for t in t_xs if t is not None],
                         body=t_body, num_consts=len(t_body_consts) + nc + sum(consts_mask),
                         num_carry=sum(carry_mask), length=length, reverse=reverse)
    n_tc = sum(carry_mask)
    t_iter = iter(t_outs[:n_tc])
    t_carry_out = [next(t_iter) if m else None for m in carry_mask]
    y_float = [is_float(a.dtype) for a in body.out_avals[nk:]]
    y_iter = iter(t_outs[n_tc:])
    return primal_outs, t_carry_out + [next(y_iter) if f else None for f in y_float]


def _tangent_scan_body(jaxpr, n_hoisted, nc, nk, nx, ntc, ntk, ntx):
    """jvp_jaxpr's order is (hoisted, consts, carry, xs, t_consts, t_carry, t_xs); the
    tangent scan passes (hoisted, consts, t_consts, t_carry, carry, xs, t_xs)."""
    v = jaxpr.invars
    hoisted, v = v[:n_hoisted], v[n_hoisted:]
    consts, carry, xs, rest = v[:nc], v[nc:nc + nk], v[nc + nk:nc + nk + nx], v[nc + nk + nx:]
    t_consts, t_carry, t_xs = rest[:ntc], rest[ntc:ntc + ntk], rest[ntc + ntk:]
    return Jaxpr([], [], hoisted + consts + t_consts + t_carry + carry + xs + t_xs,
                 jaxpr.eqns, jaxpr.outvars)


def _scan_transpose(cts, *args, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    consts, carry, xs = args[:nc], args[nc:nc + nk], args[nc + nk:]
    lin = lambda a: isinstance(a, UndefinedPrimal)     # carries are always linear here
    c_lin, x_lin = [lin(c) for c in consts], [lin(x) for x in xs]
    out_avals = body.out_avals
    cts = [_zeros(a if i < nk else _stacked(a, length)) if c is None else c
           for i, (a, c) in enumerate(zip(out_avals, cts))]
    ct_carry, ct_ys = cts[:nk], cts[nk:]
    body_t, hoisted = transpose_jaxpr(body, c_lin + [True] * nk + x_lin)
    # body_t: (hoisted, nonlin consts, nonlin xs, ct carry_out, ct ys) ->
    #         (ct lin consts, ct carry_in, ct lin xs)
    n_hc, n_nc = len(hoisted), nc - sum(c_lin)
    n_nx, n_lc = len(xs) - sum(x_lin), sum(c_lin)
    lin_c_avals = [c.aval for c in consts if lin(c)]

    def step(*a):
        h, nl_c = a[:n_hc], a[n_hc:n_hc + n_nc]
        acc, ct_k = a[n_hc + n_nc:n_hc + n_nc + n_lc], a[n_hc + n_nc + n_lc:n_hc + n_nc + n_lc + nk]
        rest = a[n_hc + n_nc + n_lc + nk:]
        nl_x, ct_y = rest[:n_nx], rest[n_nx:]
        out = eval_jaxpr(body_t, *h, *nl_c, *nl_x, *ct_k, *ct_y)
        ct_lc, ct_carry_in, ct_lx = out[:n_lc], out[n_lc:n_lc + nk], out[n_lc + nk:]
        from .elementwise import add
        return [add(x, y) for x, y in zip(acc, ct_lc)] + list(ct_carry_in) + list(ct_lx)

    nonlin_consts = [c for c in consts if not lin(c)]
    nonlin_xs = [x for x in xs if not lin(x)]
    step_avals = ([get_aval(h) for h in hoisted] + [get_aval(c) for c in nonlin_consts]
                  + lin_c_avals + [a for a in out_avals[:nk]]
                  + [_unstacked(get_aval(x)) for x in nonlin_xs] + list(out_avals[nk:]))
    step_jaxpr, step_consts = trace_closed(step, step_avals)
    outs = scan_p.bind(*step_consts, *hoisted, *nonlin_consts,
                       *[_zeros(a) for a in lin_c_avals], *ct_carry, *nonlin_xs, *ct_ys,
                       body=step_jaxpr, num_consts=len(step_consts) + n_hc + n_nc,
                       num_carry=n_lc + nk, length=length, reverse=not reverse)
    ct_lc, ct_carry_in, ct_lx = outs[:n_lc], outs[n_lc:n_lc + nk], outs[n_lc + nk:]
    return _merge(c_lin, ct_lc, [None] * n_nc) + [
        ct if lin(c) else None for c, ct in zip(carry, ct_carry_in)] + _merge(
        x_lin, ct_lx, [None] * n_nx)


def _stacked(aval, length):
    from ..core import ShapedArray
    return ShapedArray((length,) + aval.shape, aval.dtype)


def _unstacked(aval):
    from ..core import ShapedArray
    return ShapedArray(aval.shape[1:], aval.dtype)


scan_p.impl, scan_p.abstract_eval = _scan_impl, _scan_aval
scan_p.jvp, scan_p.transpose = _scan_jvp, _scan_transpose

__all__ = ["cond_p", "while_p", "scan_p", "closed", "trace_closed", "jvp_jaxpr",
           "transpose_jaxpr", "dce"]


# --------------------------------------------------------------------------- batching


def _batched_jaxpr(jaxpr, dims, size, force=True):
    """`jaxpr` over a batch of `size` (input i batched where `dims[i] == 0`): (closed
    program, consts, out_dims). An output is batched where it depends on a batched input,
    and made batched (broadcast) where `force` (a bool, or one per output) says so."""
    from ..batching import batched_call, materialize
    force = [force] * len(jaxpr.outvars) if isinstance(force, bool) else list(force)
    out_dims = []

    def fun(*args):
        outs, ds = batched_call(lambda *a: eval_jaxpr(jaxpr, *a), args, dims, size)
        out_dims[:] = [0 if f else d for d, f in zip(ds, force)]
        return [materialize(o, d, size) if f else o for o, d, f in zip(outs, ds, force)]

    jaxpr, consts = trace_closed(
        fun, [a if d is None else _stacked(a, size) for a, d in zip(jaxpr.in_avals, dims)])
    return jaxpr, consts, out_dims


def _carry_fixpoint(jaxpr, head_dims, carry_b, tail_dims, size):
    """Batch a loop body `(head..., carry..., tail...) -> (carry..., rest...)`: a carry is
    batched if it starts batched or the body makes it so given the batched inputs (a
    fixpoint). Returns `_batched_jaxpr`'s triple and the carries' batched flags."""
    while True:
        dims = list(head_dims) + [0 if b else None for b in carry_b] + list(tail_dims)
        force = list(carry_b) + [False] * (len(jaxpr.outvars) - len(carry_b))
        out = _batched_jaxpr(jaxpr, dims, size, force)
        grown = [b or d == 0 for b, d in zip(carry_b, out[2])]
        if grown == carry_b:
            return out + (carry_b,)
        carry_b = grown


def _cond_batch(vals, dims, branches):
    """A batched index selects per example among all branches' results; otherwise each
    branch runs on the batch."""
    from ..batching import batch_size, materialize
    from .elementwise import eq, select, max as max_, min as min_
    from .structural import broadcast_in_dim
    size = batch_size(vals, dims)
    index, args, arg_dims = vals[0], vals[1:], dims[1:]
    if dims[0] is None:
        new, consts = hoist_all(*zip(*[_batched_jaxpr(b, arg_dims, size)[:2]
                                       for b in branches]))
        outs = cond_p.bind(index, *consts, *args, branches=new)
        return outs, [0] * len(outs)
    index = min_(max_(index, np.int32(0)), np.int32(len(branches) - 1))
    results = None
    for i, b in enumerate(branches):
        if any(d is not None for d in arg_dims):
            j, consts, _ = _batched_jaxpr(b, arg_dims, size)
            outs = eval_jaxpr(j, *consts, *args)
        else:                                      # only the index is batched
            outs = [materialize(o, None, size) for o in eval_jaxpr(b, *args)]
        if results is None:
            results = outs
            continue
        chosen = eq(index, np.int32(i))
        results = [select(broadcast_in_dim(chosen, get_aval(o).shape, (0,)), o, r)
                   for o, r in zip(outs, results)]
    return results, [0] * len(results)


cond_p.batch = _cond_batch


def _while_batch(vals, dims, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    """One loop over the batch. Carries are batched as `_carry_fixpoint` finds. With an
    unbatched predicate the batched body runs as is; with a batched one every carry is
    batched, the loop runs while any example's predicate holds, and each step advances
    only the examples whose predicate still holds (the others keep their carry)."""
    from ..batching import batch_size, batched_call, materialize
    from .elementwise import select, convert_element_type, gt
    from .structural import reduce_sum
    size, nc, nb = batch_size(vals, dims), cond_nconsts, body_nconsts
    c_dims, b_dims, k_dims = dims[:nc], dims[nc:nc + nb], dims[nc + nb:]
    body, body_consts, _, carry_b = _carry_fixpoint(
        body_jaxpr, b_dims, [d == 0 for d in k_dims], (), size)
    cond, cond_consts, (pred_dim,) = _batched_jaxpr(
        cond_jaxpr, list(c_dims) + [0 if b else None for b in carry_b], size, False)
    carry = vals[nc + nb:]
    if pred_dim == 0:                     # per-example trip counts
        carry_b = [True] * len(carry)
        all_dims = list(c_dims) + [0] * len(carry)

        def any_pred(*a):                 # (cond consts, batched carry) -> any example on
            [pred], _ = batched_call(lambda *x: eval_jaxpr(cond_jaxpr, *x), a, all_dims, size)
            return [gt(reduce_sum(convert_element_type(pred, np.int32), (0,)), np.int32(0))]

        def step(*a):                     # one example's step, a no-op once it is done
            c, b, old = a[:nc], a[nc:nc + nb], a[nc + nb:]
            [pred] = eval_jaxpr(cond_jaxpr, *c, *old)
            return [select(pred, new, o) for new, o in zip(eval_jaxpr(body_jaxpr, *b, *old), old)]

        cond, cond_consts = trace_closed(any_pred, [
            a if d is None else _stacked(a, size) for a, d in zip(cond_jaxpr.in_avals, all_dims)])
        step_jaxpr, step_consts = trace_closed(step, cond_jaxpr.in_avals[:nc] + body_jaxpr.in_avals)
        body, body_consts, _ = _batched_jaxpr(step_jaxpr, [None] * len(step_consts) + list(
            c_dims) + list(b_dims) + [0] * len(carry), size)
        body_consts = body_consts + step_consts + list(vals[:nc])   # then the body's own
    carry = [materialize(c, d, size) if b else c for c, d, b in zip(carry, k_dims, carry_b)]
    outs = while_p.bind(*cond_consts, *vals[:nc], *body_consts, *vals[nc:nc + nb], *carry,
                        cond_jaxpr=cond, body_jaxpr=body, cond_nconsts=len(cond_consts) + nc,
                        body_nconsts=len(body_consts) + nb)
    return outs, [0 if b else None for b in carry_b]


def _scan_batch(vals, dims, body, num_consts, num_carry, length, reverse):
    """One scan over the batch: batched `xs` get their batch axis second (the scan walks
    axis 0), carries are batched as `_carry_fixpoint` finds, and batched stacked outputs
    get their batch axis moved back first. Unbatched constants stay unbatched."""
    from ..batching import batch_size, materialize
    from .structural import transpose
    size, nc, nk = batch_size(vals, dims), num_consts, num_carry
    swap = lambda x: transpose(x, (1, 0) + tuple(range(2, get_aval(x).ndim)))  # noqa: E731
    new_body, consts, out_dims, carry_b = _carry_fixpoint(
        body, dims[:nc], [d == 0 for d in dims[nc:nc + nk]], dims[nc + nk:], size)
    carry = [materialize(c, d, size) if b else c
             for c, d, b in zip(vals[nc:nc + nk], dims[nc:nc + nk], carry_b)]
    xs = [swap(x) if d == 0 else x for x, d in zip(vals[nc + nk:], dims[nc + nk:])]
    outs = scan_p.bind(*consts, *vals[:nc], *carry, *xs, body=new_body,
                       num_consts=len(consts) + nc, num_carry=nk, length=length,
                       reverse=reverse)
    ys = [swap(y) if d == 0 else y for y, d in zip(outs[nk:], out_dims[nk:])]
    return outs[:nk] + ys, out_dims


while_p.batch = _while_batch
scan_p.batch = _scan_batch
