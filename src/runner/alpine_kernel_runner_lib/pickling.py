"""Pickling names for the store: protocol 5 with large buffers out of band, a fingerprint of the
in-band bytes, the objects whose identity matters (to keep shared references shared), and the
global names that code pickled by value refers to (to load them with it in later cells).

dill is used when importable (RunnerDillPickler), else the stdlib MainPickler; both write numpy
and pandas data as PickleBuffers, which go to buffer files when they are at least
OUT_OF_BAND_MIN bytes (memory-mappable on load) and into the pickle otherwise.
"""
import hashlib
import pickle
import re
import types

from . import cell_sources

PROTOCOL = 5
OUT_OF_BAND_MIN = 1 << 20
# In-band bytes kept in memory between fingerprinting and writing (beyond it, names are pickled
# again when written): a namespace of many large objects must not double its memory to be saved.
RETAINED_MAX = 256 << 20

IDENTIFIER = re.compile(r"[^\W\d]\w*")
# Values whose identity no program relies on: never a reason to keep two names together.
_NO_IDENTITY = (str, bytes, int, float, complex, bool, type(None), tuple, frozenset, range, slice,
                type(Ellipsis), types.CodeType, types.BuiltinFunctionType, types.MethodType)


def identifiers(text):
    return set(IDENTIFIER.findall(text))


def code_names(code, out):
    """Global (and attribute) names a code object and the code nested in it use, plus the
    identifiers in its string constants (df.query("x > @limit") reads `limit`)."""
    out.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            code_names(const, out)
        elif isinstance(const, str) and len(const) < 10000:
            out.update(IDENTIFIER.findall(const))


class Budget(object):
    def __init__(self, limit=RETAINED_MAX):
        self.left = limit


class _Sink(object):
    """The file a pickler writes to while fingerprinting: hashes everything, keeps the bytes while
    the budget allows, optionally passes them on to a real file."""

    def __init__(self, budget, file=None):
        self.hash = hashlib.blake2b(digest_size=16)
        self.size = 0
        self.chunks = [] if budget is not None else None
        self.budget = budget
        self.file = file

    def write(self, data):
        self.hash.update(data)
        n = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        self.size += n
        if self.file is not None:
            self.file.write(data)
        if self.chunks is not None:
            if n <= self.budget.left:
                self.chunks.append(bytes(data))
                self.budget.left -= n
            else:
                self.budget.left += sum(len(c) for c in self.chunks)
                self.chunks = None
        return n

    def data(self):
        return b"".join(self.chunks) if self.chunks is not None else None


class Pickled(object):
    """One or more names pickled with one pickler."""

    def __init__(self, names):
        self.names = list(names)
        self.starts = []
        self.digest = None
        self.size = 0
        self.data = None  # the in-band bytes, when retained
        self.buffers = []  # PickleBuffers sent out of band, in order
        self.sizes = {}  # name -> in-band bytes + out-of-band bytes of that name
        self.identity = []  # objects whose identity matters, kept alive while grouping
        self.refs = set()
        self.sources = set()


def pickle_names(values, names, kind, main_module, budget=None, file=None, identity=False):
    """Pickles values[name] for each name with ONE pickler into a fingerprinting sink (and `file`
    when given); with `identity`, keeps the objects whose identity matters (copying the memo costs
    about twice the pickling of an object-heavy value: only done when names could share).
    Raises what the pickler raises."""
    result = Pickled(names)
    sink = _Sink(budget, file)

    def out_of_band(buffer):
        with buffer.raw() as view:
            if view.nbytes >= OUT_OF_BAND_MIN:
                result.buffers.append(buffer)
                return False
        return True

    def on_function(func):
        code = func.__code__
        code_names(code, result.refs)
        if cell_sources.is_cell_file(code.co_filename):
            result.sources.add(code.co_filename)

    pickler = make_pickler(kind, sink, main_module, out_of_band, on_function)
    for name in names:
        result.starts.append(sink.size)
        before = len(result.buffers)
        pickler.dump(values[name])
        oob = sum(b.raw().nbytes for b in result.buffers[before:])
        result.sizes[name] = sink.size - result.starts[-1] + oob
    result.digest = sink.hash.hexdigest()
    result.size = sink.size
    result.data = sink.data()
    if identity:
        memo = pickler.memo.copy()
        main_dict = main_module.__dict__
        result.identity = [obj for _index, obj in memo.values() if identity_matters(obj, main_dict)]
    return result


def make_pickler(kind, file, main_module, buffer_callback, on_function):
    if kind == "dill":
        from .dill_pickler import RunnerDillPickler, use_main_module

        use_main_module(main_module)
        pickler = RunnerDillPickler(file, protocol=PROTOCOL, buffer_callback=buffer_callback)
        pickler.on_function = on_function
        return pickler
    from .main_pickler import MainPickler

    return MainPickler(file, main_module.__dict__, PROTOCOL, buffer_callback, on_function)


def identity_matters(obj, main_dict):
    """Whether two names holding obj must be restored holding the same object: mutable containers,
    arrays, instances, functions and classes defined in cells. Not: immutable values, modules,
    and what is pickled by reference (classes and functions of importable modules, numpy dtypes)."""
    if isinstance(obj, _NO_IDENTITY) or obj is main_dict or isinstance(obj, types.ModuleType):
        return False
    if isinstance(obj, (type, types.FunctionType)):
        return getattr(obj, "__module__", None) == "__main__"
    kind = type(obj)
    if kind.__name__ == "PickleBuffer" or (kind.__module__ == "numpy" and kind.__name__.startswith("dtype")):
        return False
    return True


def loads(data_file, starts, buffers, kind, main_module):
    """The values of one record, in order (data_file positioned anywhere; starts from the index)."""
    if kind == "dill":
        from .dill_pickler import use_main_module

        unpickler_class = use_main_module(main_module).Unpickler
    else:
        unpickler_class = pickle.Unpickler
    unpickler = unpickler_class(data_file, buffers=iter(buffers))
    values = []
    for start in starts:
        data_file.seek(start)
        values.append(unpickler.load())
    return values
