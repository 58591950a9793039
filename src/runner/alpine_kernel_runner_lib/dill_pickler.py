"""dill, set up for carrying a notebook namespace (imported only when dill is importable).

Two fixes over dill 0.3's own Pickler, which is the pure-Python pickle._Pickler underneath:
- an RLock is carried as a new one: dill restores RLocks that no acquire() can ever take, which
  deadlocks e.g. functools.cached_property (it holds one per class before Python 3.12);
- a numpy array is pickled with protocol 5's buffer (out of band, or written from memory) where
  dill would copy its data into a bytes object first: saving a 10 GB array must not need 20 GB.
"""
import pickle
import struct
import sys
import threading
import types

import dill

_RLOCK_TYPE = type(threading.RLock())
_FUNCTION_TYPE = types.FunctionType
_PICKLE_BUFFER = getattr(pickle, "PickleBuffer", None)


def use_main_module(main_module):
    """Point dill at the cell's __main__ (it binds functions' globals to that module's dict)."""
    internals = getattr(dill, "_dill", None)
    if internals is not None and getattr(internals, "_main_module", None) is not main_module:
        internals._main_module = main_module
    return dill


class RunnerDillPickler(dill.Pickler):
    # Called with each function pickled by value (the store records the names its code uses).
    on_function = None

    def save(self, obj, save_persistent_id=True):
        kind = type(obj)
        if kind is _FUNCTION_TYPE and self.on_function is not None and obj.__module__ == "__main__":
            self.on_function(obj)
        if kind is _RLOCK_TYPE and id(obj) not in self.memo:
            self.save_reduce(threading.RLock, (), obj=obj)
            return
        if kind is _PICKLE_BUFFER and self._save_buffer_in_place(obj):
            return
        numpy = sys.modules.get("numpy")
        if numpy is not None and kind is getattr(numpy, "ndarray", None) and self.proto >= 5:
            # dill sends every ndarray through ndarray.__reduce__ (a bytes copy of the data, made
            # to carry subclasses' __dict__, which a plain ndarray has not).
            memoized = self.memo.get(id(obj))
            if memoized is not None:
                self.write(self.get(memoized[0]))
            else:
                self.save_reduce(obj=obj, *obj.__reduce_ex__(self.proto))
            return
        dill.Pickler.save(self, obj, save_persistent_id)

    def _save_buffer_in_place(self, buffer):
        # pickle._Pickler.save_picklebuffer writes buffer.raw().tobytes(): a copy.
        write_large_bytes = getattr(self, "_write_large_bytes", None)
        if write_large_bytes is None or self.proto < 5 or getattr(self, "_buffer_callback", None):
            return False
        with buffer.raw() as view:
            if not view.contiguous:
                return False
            # What save_picklebuffer writes in band (bytes for read-only data, else bytearray),
            # minus the copy; not memoized, like the temporary copy it replaces.
            opcode = pickle.BINBYTES8 if view.readonly else pickle.BYTEARRAY8
            write_large_bytes(opcode + struct.pack("<Q", view.nbytes), view)
        return True
