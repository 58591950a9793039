"""How functions and classes defined in cells are pickled by value (used by MainPickler).

Functions become their marshalled code plus state; on load their globals are the namespace of the
cell that loads them (so a function reads globals as they are *now*, as with dill), or the dict of
the module they were really defined in (decorator wrappers). Classes become (metaclass, name,
bases) plus their attributes, set after creation so that methods can refer to their class.
"""
import marshal
import pickle
import sys
import types

_VERSION = tuple(sys.version_info[:2])
# Class attributes that type() creates itself, or that cannot be carried and are rebuilt.
_CLASS_SKIP = frozenset(("__dict__", "__weakref__", "_abc_impl"))
_NAMEDTUPLE_GENERATED = (
    "__new__", "_make", "_replace", "__repr__", "_asdict", "__getnewargs__", "__slots__",
    "_fields", "_field_defaults", "__match_args__", "__module__", "__qualname__", "__replace__",
)


def reduce_function(func, main_dict):
    """By value, for functions defined in a cell or named as if they were (functools.wraps)."""
    if func.__globals__ is main_dict:
        globals_module = None
    else:
        globals_module = func.__globals__.get("__name__")
        module = sys.modules.get(globals_module) if isinstance(globals_module, str) else None
        if getattr(module, "__dict__", None) is not func.__globals__:
            raise pickle.PicklingError("function %s has globals of no importable module" % func.__qualname__)
    closure = func.__closure__ or ()
    cells = []
    for cell in closure:
        try:
            cells.append((True, cell.cell_contents))
        except ValueError:  # an empty cell (a name assigned later in the enclosing function)
            cells.append((False, None))
    state = {
        "__defaults__": func.__defaults__,
        "__kwdefaults__": func.__kwdefaults__,
        "__dict__": func.__dict__ or None,
        "__qualname__": func.__qualname__,
        "__doc__": func.__doc__,
        "__annotations__": func.__annotations__ or None,
        "__module__": func.__module__,
        "cells": cells,
    }
    args = (_VERSION, marshal.dumps(func.__code__), func.__name__, globals_module)
    # State is pickled after the function is memoized, so recursion through defaults, closures
    # and attributes ends at the function itself.
    return _make_function, args, state, None, None, _set_function_state


def _make_function(version, code_bytes, name, globals_module=None):
    if tuple(version) != _VERSION:
        raise pickle.UnpicklingError(
            "function %s was saved by Python %d.%d and cannot be loaded by Python %d.%d"
            % ((name,) + tuple(version) + _VERSION)
        )
    code = marshal.loads(code_bytes)
    closure = tuple(types.CellType() for _ in code.co_freevars) or None
    if globals_module is None:
        globals_dict = sys.modules["__main__"].__dict__
    else:
        import importlib

        globals_dict = importlib.import_module(globals_module).__dict__
    return types.FunctionType(code, globals_dict, name, None, closure)


def _set_function_state(func, state):
    for (has_value, value), cell in zip(state.pop("cells"), func.__closure__ or ()):
        if has_value:
            cell.cell_contents = value
    for attr, value in state.items():
        if value is not None or attr == "__doc__":
            setattr(func, attr, value)


def reduce_class(cls):
    import enum

    if _is_namedtuple(cls):
        return _reduce_namedtuple(cls)
    if isinstance(cls, enum.EnumMeta):
        raise pickle.PicklingError("enum %s defined in a cell can only be carried with dill installed" % cls.__name__)
    slots = cls.__dict__.get("__slots__")
    slot_names = (slots,) if isinstance(slots, str) else tuple(slots or ())
    namespace = {"__module__": "__main__", "__qualname__": cls.__qualname__}
    if slots is not None:
        namespace["__slots__"] = slots
    attributes = {}
    for name, value in cls.__dict__.items():
        if name in _CLASS_SKIP or name in namespace or name in slot_names:
            continue
        attributes[name] = value
    return _make_class, (type(cls), cls.__name__, cls.__bases__, namespace), attributes, None, None, _set_class_state


def _is_namedtuple(cls):
    new = getattr(cls.__dict__.get("__new__"), "__func__", None)
    return (
        issubclass(cls, tuple)
        and isinstance(cls.__dict__.get("_fields"), tuple)
        and getattr(new, "__module__", "").startswith("namedtuple_")
    )


def _reduce_namedtuple(cls):
    # collections.namedtuple (and typing.NamedTuple) generate methods from source in a private
    # module; regenerate them with the factory and carry only what the cell added.
    fields = cls._fields
    defaults = [cls._field_defaults[f] for f in fields if f in cls._field_defaults]
    generated = set(_NAMEDTUPLE_GENERATED).union(fields)
    extras = dict((k, v) for k, v in cls.__dict__.items() if k not in generated and k not in _CLASS_SKIP)
    args = (cls.__name__, fields, tuple(defaults), cls.__qualname__)
    return _make_namedtuple, args, extras, None, None, _set_class_state


def _make_namedtuple(name, fields, defaults, qualname):
    import collections

    cls = collections.namedtuple(name, fields, defaults=defaults or None, module="__main__")
    cls.__qualname__ = qualname
    return cls


def _make_class(metaclass, name, bases, namespace):
    return metaclass(name, bases, dict(namespace))


def _set_class_state(cls, attributes):
    for name, value in attributes.items():
        setattr(cls, name, value)
    for name, value in attributes.items():
        set_name = getattr(type(value), "__set_name__", None)
        if set_name is not None:  # e.g. functools.cached_property needs its name
            set_name(value, cls, name)
