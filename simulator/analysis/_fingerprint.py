"""A content fingerprint of a custom sweep metric, so a resumed sweep never reuses another function's rows.

A sweep's resume key records what defines each member's result; for a user's metric that is the function
itself: its code (nested functions included), constants, default arguments, closure cells and the globals
it names, each hashed by value. A value we cannot hash by content (an open file, a model object) makes the
metric unfingerprintable: a sweep with `out` then refuses it unless the function names its version
(`f.metric_version = "2"`), which the caller promises to change with the function.
"""

from __future__ import annotations

import functools
import hashlib
import types
from collections.abc import Callable

import numpy as np

_MAX_DEPTH = 24  # functions calling functions calling ...: far below Python's recursion limit


class Unfingerprintable(Exception):
    """A value a metric depends on has no content we can hash; carries a description of it."""


def fingerprint(fn: Callable) -> str:
    """SHA-256 (16 hex digits) of everything in `fn` that can change what it returns; raises Unfingerprintable."""
    parts: list[str] = []
    _walk(fn, parts, set(), 0)
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _walk(obj, out: list[str], seen: set[int], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise Unfingerprintable(f"values nested deeper than {_MAX_DEPTH} levels")
    if isinstance(obj, _PLAIN):
        out.append(f"{type(obj).__name__}:{obj!r}")
        return
    if id(obj) in seen:  # a function that names itself, a list holding itself
        out.append("<seen>")
        return
    seen.add(id(obj))
    d = depth + 1
    if isinstance(obj, types.FunctionType):
        out.append(f"function:{obj.__module__}.{obj.__qualname__}")
        _walk(obj.__code__, out, seen, d)
        _walk(obj.__defaults__, out, seen, d)
        _walk(obj.__kwdefaults__, out, seen, d)
        for cell in obj.__closure__ or ():
            try:
                _walk(cell.cell_contents, out, seen, d)
            except ValueError:  # an empty cell
                out.append("<empty cell>")
        for name in sorted(_global_names(obj.__code__)):
            if name in obj.__globals__:
                out.append(f"global:{name}")
                _walk(obj.__globals__[name], out, seen, d)
    elif isinstance(obj, types.CodeType):
        out.append(f"code:{obj.co_code.hex()}:{obj.co_names}:{obj.co_varnames}")
        _walk(obj.co_consts, out, seen, d)
    elif isinstance(obj, (tuple, list)):
        out.append(f"{type(obj).__name__}:{len(obj)}")
        for v in obj:
            _walk(v, out, seen, d)
    elif isinstance(obj, dict):
        out.append(f"dict:{len(obj)}")
        for k in sorted(obj, key=repr):
            _walk(k, out, seen, d)
            _walk(obj[k], out, seen, d)
    elif isinstance(obj, (set, frozenset)):
        out.append(f"set:{sorted(repr(v) for v in obj)}")
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise Unfingerprintable("a numpy array of Python objects")
        out.append(f"ndarray:{obj.dtype.str}:{obj.shape}:{hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()}")
    elif isinstance(obj, np.generic):
        out.append(f"{obj.dtype.str}:{obj!r}")
    elif isinstance(obj, types.ModuleType):
        out.append(f"module:{obj.__name__}:{getattr(obj, '__version__', '')}")
    elif isinstance(obj, (types.BuiltinFunctionType, np.ufunc, type)):
        out.append(f"builtin:{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))}")
    elif isinstance(obj, types.MethodType):
        _walk(obj.__func__, out, seen, d)
        _walk(obj.__self__, out, seen, d)
    elif isinstance(obj, functools.partial):
        out.append("partial")
        _walk((obj.func, obj.args, obj.keywords), out, seen, d)
    elif isinstance(_call_of(type(obj)), types.FunctionType) and hasattr(obj, "__dict__"):  # an instance of a class with __call__
        out.append(f"instance:{type(obj).__module__}.{type(obj).__qualname__}")
        _walk(_call_of(type(obj)), out, seen, d)
        _walk(vars(obj), out, seen, d)
    else:
        raise Unfingerprintable(f"a {type(obj).__module__}.{type(obj).__qualname__} value")


def _call_of(cls: type):
    """The Python function a class defines (or inherits) as __call__, if any."""
    for base in cls.__mro__:
        if "__call__" in vars(base):
            return vars(base)["__call__"]
    return None


def _global_names(code: types.CodeType) -> set[str]:
    """Names a code object and its nested functions look up (globals among them); iterative, no recursion."""
    names, todo = set(), [code]
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return names
