"""Pytrees: nested tuples, lists, dicts, namedtuples and registered classes, with leaves.

Transforms flatten their inputs and outputs with these functions, so every transform
accepts the same containers. `None` is an empty pytree (it has no leaves).

>>> leaves, treedef = tree_flatten({"w": 1.0, "b": (2.0, None)})
>>> leaves
[2.0, 1.0]
>>> tree_unflatten(treedef, [20.0, 10.0])
{'b': (20.0, None), 'w': 10.0}
"""
import numpy as np

__all__ = ["PyTreeDef", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves",
           "tree_structure", "register_pytree_node", "register_pytree_node_class"]

_registry = {}
_PLAIN_LEAVES = {float, int, bool, complex, np.ndarray, np.float64, np.float32, np.int64,
                 np.int32, np.bool_}            # leaves, unless registered as nodes


def register_pytree_node(nodetype, flatten_func, unflatten_func):
    """Make `nodetype` a pytree node.

    `flatten_func(x) -> (children, aux_data)`; `unflatten_func(aux_data, children) -> x`.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    >>> tree_leaves(Pair(1.0, [2.0]))
    [1.0, 2.0]
    """
    _registry[nodetype] = (flatten_func, unflatten_func)
    _PLAIN_LEAVES.discard(nodetype)


def register_pytree_node_class(cls):
    """Class decorator: `cls` provides `tree_flatten(self)` and classmethod `tree_unflatten`."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


register_pytree_node(tuple, lambda t: (t, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda l: (l, None), lambda _, c: list(c))
register_pytree_node(type(None), lambda n: ((), None), lambda _, c: None)


def _flatten_dict(d):
    keys = sorted(d)
    return [d[k] for k in keys], keys


register_pytree_node(dict, _flatten_dict, lambda keys, c: dict(zip(keys, c)))


def _node_rules(x):
    rules = _registry.get(type(x))
    if rules is None and isinstance(x, tuple) and hasattr(x, "_fields"):   # namedtuple
        return (lambda t: (tuple(t), None)), (lambda _, c, _t=type(x): _t(*c))
    return rules


class PyTreeDef:
    """The structure of a pytree: node types and aux data, with leaves left out."""
    __slots__ = ("node_type", "aux", "children", "num_leaves", "_hash")

    def __init__(self, node_type, aux, children):
        self.node_type, self.aux, self.children = node_type, aux, tuple(children)
        self.num_leaves = (1 if node_type is None else
                           sum(c.num_leaves for c in self.children))
        self._hash = None

    def _key(self):
        return (self.node_type, _hashable(self.aux), self.children)

    def __eq__(self, other):
        return self is other or (isinstance(other, PyTreeDef) and hash(self) == hash(other)
                                 and self._key() == other._key())

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(self._key())
        return self._hash

    def __repr__(self):
        return f"PyTreeDef({self._show()})"

    def _show(self):
        if self.node_type is None:
            return "*"
        kids = [c._show() for c in self.children]
        if self.node_type is tuple:
            return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
        if self.node_type is list:
            return "[" + ", ".join(kids) + "]"
        if self.node_type is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.aux, kids)) + "}"
        if self.node_type is type(None):
            return "None"
        return f"{self.node_type.__name__}({', '.join(kids)})"


_LEAF = PyTreeDef(None, None, ())
_interned = {}


def _treedef(node_type, aux, children):
    """The one `PyTreeDef` object of this structure (made once): equal structures are the
    same object, so comparing and hashing them (jit's cache keys) is cheap."""
    aux_key = _hashable(aux)
    if type(aux_key) is int and aux_key == id(aux):      # unhashable aux: not interned
        return PyTreeDef(node_type, aux, children)
    key = (node_type, aux_key, tuple(children))
    td = _interned.get(key)
    if td is None:
        td = _interned[key] = PyTreeDef(node_type, aux, children)
    return td


def _hashable(aux):
    if isinstance(aux, list):
        return tuple(aux)
    try:
        hash(aux)
        return aux
    except TypeError:
        return id(aux)


def tree_flatten(tree, is_leaf=None):
    """Return `(leaves, treedef)`; leaves are in a fixed order (dicts by sorted key)."""
    leaves = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(x, leaves, is_leaf):
    t = type(x)
    if is_leaf is None:                 # fast paths for the common containers and leaves
        if t is dict:
            keys = sorted(x)
            return _treedef(dict, keys, [_flatten(x[k], leaves, None) for k in keys])
        if t is tuple or t is list:
            return _treedef(t, None, [_flatten(c, leaves, None) for c in x])
        if t in _PLAIN_LEAVES:
            leaves.append(x)
            return _LEAF
    rules = None if (is_leaf is not None and is_leaf(x)) else _node_rules(x)
    if rules is None:
        leaves.append(x)
        return _LEAF
    children, aux = rules[0](x)
    node_type = type(x)
    return _treedef(node_type, aux, [_flatten(c, leaves, is_leaf) for c in children])


def tree_unflatten(treedef, leaves):
    """Rebuild the pytree of structure `treedef` from `leaves`."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"tree_unflatten: {treedef} has {treedef.num_leaves} leaves, "
                         f"got {len(leaves)}")
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(td, it):
    if td.node_type is None:
        return next(it)
    children = [_unflatten(c, it) for c in td.children]
    if td.node_type in _registry:
        return _registry[td.node_type][1](td.aux, children)
    return td.node_type(*children)                                       # namedtuple


def tree_leaves(tree, is_leaf=None):
    """The leaves of `tree`, in flattening order."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The `PyTreeDef` of `tree`."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply `f` leaf-wise to `tree` and the trees in `rest` (which share its structure).

    >>> tree_map(lambda p, g: p - 0.5 * g, {"w": 1.0, "b": [2.0]}, {"w": 2.0, "b": [2.0]})
    {'b': [1.0], 'w': 0.0}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef} vs {r_def}")
        others.append(r_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])

