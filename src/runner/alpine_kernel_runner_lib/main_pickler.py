"""A stdlib pickler that carries what cells define, for when dill is absent.

Plain pickle stores a function or class by reference ("__main__.f"): that saves fine and then
fails in the next cell's fresh process, whose __main__ does not have it yet. MainPickler stores
functions and classes defined in cells by value (cell_objects.py), modules by name, and the
few stdlib objects class bodies commonly hold that pickle refuses (staticmethod, property,
cached_property, locks). Requires Python 3.8+ (reducer_override, reduce state setters).
"""
import functools
import importlib
import pickle
import sys
import threading
import types

from .cell_objects import reduce_class, reduce_function

_LRU_CACHE_TYPE = getattr(functools, "_lru_cache_wrapper", None)
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
# Sentinels compared by identity (dataclasses checks `field._field_type is _FIELD`): by name.
_SINGLETONS = {"dataclasses": ("MISSING", "_FIELD", "_FIELD_CLASSVAR", "_FIELD_INITVAR", "_HAS_DEFAULT_FACTORY")}


class MainPickler(pickle.Pickler):
    def __init__(self, file, main_dict, protocol=pickle.HIGHEST_PROTOCOL, buffer_callback=None, on_function=None):
        super(MainPickler, self).__init__(file, protocol=protocol, buffer_callback=buffer_callback)
        self._main_dict = main_dict
        self._singletons = _known_singletons()
        self._on_function = on_function

    def reducer_override(self, obj):
        if isinstance(obj, types.FunctionType):
            if obj.__globals__ is self._main_dict or obj.__module__ == "__main__":
                if self._on_function is not None:
                    self._on_function(obj)
                return reduce_function(obj, self._main_dict)
            return NotImplemented
        if isinstance(obj, type):
            return reduce_class(obj) if obj.__module__ == "__main__" else NotImplemented
        if isinstance(obj, types.ModuleType):
            if sys.modules.get(obj.__name__) is not obj:
                raise pickle.PicklingError("module %s cannot be imported by name" % obj.__name__)
            return importlib.import_module, (obj.__name__,)
        kind = type(obj)
        if kind is staticmethod or kind is classmethod:
            return kind, (obj.__func__,)
        if kind is property:
            return property, (obj.fget, obj.fset, obj.fdel, obj.__doc__)
        if kind is getattr(functools, "cached_property", None):
            return kind, (obj.func,)  # its lock is per class; __set_name__ runs when the class is rebuilt
        if kind in _LOCK_TYPES:
            return (threading.RLock if kind is _LOCK_TYPES[1] else threading.Lock), ()
        if kind is types.MappingProxyType:
            return _make_mappingproxy, (dict(obj),)
        if kind is _LRU_CACHE_TYPE:
            return _make_lru_cache, (obj.__wrapped__, _lru_cache_parameters(obj))
        singleton = self._singletons.get(id(obj))
        if singleton is not None:
            return getattr, singleton
        inst_dict = getattr(obj, "__dict__", None)
        if isinstance(inst_dict, dict) and inst_dict.get("__module__") == "__main__" and callable(obj):
            # functools.lru_cache and similar wrappers pickle by name: that would save, then fail
            # to load; say so now.
            raise pickle.PicklingError("%s defined in a cell can only be carried with dill" % kind.__name__)
        return NotImplemented


def _lru_cache_parameters(wrapper):
    if hasattr(wrapper, "cache_parameters"):  # Python 3.9+
        parameters = wrapper.cache_parameters()
        return parameters["maxsize"], parameters["typed"]
    return 128, False


def _make_lru_cache(func, parameters):
    # The cached values are not carried, only the decorated function.
    return functools.lru_cache(maxsize=parameters[0], typed=parameters[1])(func)


def _make_mappingproxy(mapping):
    return types.MappingProxyType(mapping)


def _known_singletons():
    found = {}
    for module_name, names in _SINGLETONS.items():
        module = sys.modules.get(module_name)
        for name in names if module is not None else ():
            if hasattr(module, name):
                found[id(getattr(module, name))] = (module, name)
    return found
