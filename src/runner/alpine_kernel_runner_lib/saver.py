"""Saving a cell's namespace into the store: only what the cell touched, only what changed.

Names the cell never loaded nor assigned are untouched by definition: their index entries and
files are carried over as they are. Every touched name is pickled once into a fingerprinting sink
(no disk I/O): names whose pickles share an object whose identity matters are grouped into one
record (one pickler, so the sharing survives). A group that is exactly a record the cell loaded,
with the same in-band fingerprint and the same large buffers, none of them written to (pagemap),
keeps its files. Anything else is written to new files; a large buffer the cell did not write to
is not copied but referred to where it already is. Then the index is committed and the files no
index names are removed.
"""
import gc
import io
import os
import sys
import time
import types

from . import cell_sources, pickling, store
from .mapped import buffer_address


def save(ctx, ns, excluded, is_carried_name, describe):
    """ctx: the restore's state (store_dir, index, loader, mapped, kind, main_module).
    Returns (new index or None when nothing could be committed, stats dict, skipped)."""
    old = ctx.index
    loader = ctx.loader
    generation = old["generation"] + 1
    skipped, names = {}, {}
    touched = loader.loaded_names
    for name, entry in old["names"].items():
        if name not in ns and name not in touched and name not in loader.lost:
            names[name] = entry
    values = []
    for name in list(ns):
        if not is_carried_name(name) or name in excluded:
            continue
        value = ns[name]
        if isinstance(value, types.ModuleType):
            if sys.modules.get(value.__name__) is value:
                names[name] = {"module": value.__name__, "type": "module"}
            else:
                skipped[name] = "module: %s cannot be imported by name" % value.__name__
        elif isinstance(value, io.IOBase):
            skipped[name] = "%s: cannot pickle an open file; reopen it in the cell that uses it" % type(value).__name__
        else:
            values.append(name)

    budget = pickling.Budget()
    passes = {}
    identity = len(values) > 1  # one touched value has nothing to share with
    collecting = gc.isenabled()
    gc.disable()  # copies of pickler memos make many tuples: collections would only slow them
    try:
        for name in values:
            try:
                passes[name] = pickling.pickle_names(ns, [name], ctx.kind, ctx.main_module, budget, identity=identity)
            except Exception as e:
                skipped[name] = _reason(ns[name], e)
        groups = _group([n for n in values if n in passes], passes, old, loader)
        for p in passes.values():
            p.identity = None
    finally:
        if collecting:
            gc.enable()

    writer = _Writer(ctx, generation)
    try:
        for group in groups:
            writer.put(group, passes, ns, names, describe, skipped)
        if not writer.created and names == old["names"]:
            # Nothing changed: nothing to commit; files a killed save left are still collected.
            if ctx.start_generation is not None:
                store.collect_garbage(ctx.store_dir, old)
            return old, writer.stats, skipped
        new_index = _index(old, generation, names, writer)
        if store.current_generation(ctx.store_dir) != ctx.start_generation:
            raise _Reset()
        store.write_index(ctx.store_dir, new_index)
    except BaseException as e:
        writer.discard()
        reason = (
            "the namespace was reset (kernel restart) while this cell ran"
            if isinstance(e, _Reset)
            else "namespace not saved: %s: %s (the previous cell's namespace is kept)" % (type(e).__name__, e)
        )
        for name in values:
            skipped.setdefault(name, reason)
        if not isinstance(e, Exception):
            raise
        return None, writer.stats, skipped
    store.collect_garbage(ctx.store_dir, new_index)
    return new_index, writer.stats, skipped


class _Reset(Exception):
    pass


def _group(values, passes, old, loader):
    """Names whose pickles share an identity-bearing object, as lists (a loaded record's order
    first, so an unchanged record pickles to the same bytes)."""
    parent = dict((name, name) for name in values)

    def find(name):
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    owner = {}
    for name in values:
        for obj in passes[name].identity:
            other = owner.setdefault(id(obj), name)
            if other != name:
                parent[find(name)] = find(other)
    order = {}
    for record_id in loader.bound:
        for i, name in enumerate(old["records"][record_id]["names"]):
            order.setdefault(name, (0, record_id, i))
    members = {}
    for i, name in enumerate(values):
        order.setdefault(name, (1, "", i))
        members.setdefault(find(name), []).append(name)
    return [sorted(g, key=order.__getitem__) for g in members.values()]


class _Writer(object):
    def __init__(self, ctx, generation):
        self.ctx = ctx
        self.generation = generation
        self.records = {}  # record id -> record entry (kept or new)
        self.files = {}  # file name -> size, of the records above
        self.created = []
        self.stats = {"written": 0, "written_bytes": 0, "kept": 0}

    def put(self, group, passes, ns, names, describe, skipped):
        ctx = self.ctx
        if len(group) == 1:
            pickled = passes[group[0]]
        else:
            try:
                pickled = pickling.pickle_names(ns, group, ctx.kind, ctx.main_module, pickling.Budget())
            except Exception:
                for name in group:  # carried apart: their sharing is lost, their values are not
                    self.put([name], passes, ns, names, describe, skipped)
                return
        refs = [self._clean_ref(b) for b in pickled.buffers]
        record_id = self._unchanged_record(group, pickled, refs)
        if record_id is not None:
            self._keep(record_id)
            for name in group:
                names[name] = ctx.index["names"][name]
            self.stats["kept"] += len(group)
            return
        record_id = self._write(group, pickled, refs, ns)
        for name in group:
            value = ns[name]
            names[name] = {
                "record": record_id,
                "type": type(value).__name__,
                # module:qualname, for the introspection helper (what it is, without its value)
                "class": "%s:%s" % (type(value).__module__, type(value).__qualname__),
                "info": describe(value),
                "bytes": passes[name].sizes.get(name, 0),
            }
        self.stats["written"] += len(group)

    def _unchanged_record(self, group, pickled, refs):
        old = self.ctx.index
        record_id = old["names"].get(group[0], {}).get("record")
        if record_id not in self.ctx.loader.bound:
            return None
        record = old["records"][record_id]
        mapped_to_it = [n for n in record["names"] if old["names"].get(n, {}).get("record") == record_id]
        if self.ctx.loader.bound[record_id] != group or mapped_to_it != group:
            return None
        if pickled.digest != record["digest"] or refs != record["buffers"]:
            return None
        return record_id

    def _keep(self, record_id):
        old = self.ctx.index
        record = old["records"][record_id]
        self.records[record_id] = record
        for name in [record["file"]] + [ref[0] for ref in record["buffers"]]:
            self.files[name] = old["files"][name]

    def _clean_ref(self, buffer):
        """[file, offset, length] of a buffer that is still exactly where the store has it."""
        mapped = self.ctx.mapped
        view = buffer.raw()
        length = view.nbytes
        address = buffer_address(view)
        where = mapped.locate(address, length)
        if where is None or where[0] not in self.ctx.index["files"]:
            return None
        if not mapped.unchanged(address, length, where[0], where[1]):
            return None
        return [where[0], where[1], length]

    def _write(self, group, pickled, refs, ns):
        ctx = self.ctx
        record_id = store.new_name("r", self.generation, "")
        file_name = record_id + ".pkl"
        f = self._create(file_name)
        if pickled.data is not None:
            f.write(pickled.data)
        else:  # too large to have been kept in memory: pickled again, straight into the file
            pickled = pickling.pickle_names(ns, group, ctx.kind, ctx.main_module, None, file=f)
            refs = [self._clean_ref(b) for b in pickled.buffers]
        size = store.finish_file(f)
        self.files[file_name] = size
        self.stats["written_bytes"] += size
        for i, buffer in enumerate(pickled.buffers):
            if refs[i] is None:
                refs[i] = self._write_buffer(buffer)
            else:
                self.files[refs[i][0]] = ctx.index["files"][refs[i][0]]
        self.records[record_id] = {
            "file": file_name,
            "pickler": ctx.kind,
            "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "names": list(group),
            "starts": pickled.starts,
            "digest": pickled.digest,
            "size": size,
            "buffers": refs,
            "refs": sorted(pickled.refs),
            "sources": sorted(pickled.sources),
        }
        return record_id

    def _write_buffer(self, buffer):
        name = store.new_name("b", self.generation, ".bin")
        f = self._create(name)
        view = buffer.raw()
        f.write(view)
        size = store.finish_file(f)
        self.files[name] = size
        self.stats["written_bytes"] += size
        return [name, 0, size]

    def _create(self, name):
        f = store.create_file(self.ctx.store_dir, name)
        self.created.append(name)
        return f

    def discard(self):
        for name in self.created:
            store.remove_quietly(os.path.join(self.ctx.store_dir, name))


def _index(old, generation, names, writer):
    records, files, sources = {}, {}, {}
    for entry in names.values():
        record_id = entry.get("record")
        if record_id is None or record_id in records:
            continue
        record = writer.records.get(record_id) or old["records"][record_id]
        records[record_id] = record
        for name in [record["file"]] + [ref[0] for ref in record["buffers"]]:
            files[name] = writer.files.get(name, old["files"].get(name, 0))
        for filename in record.get("sources", ()):
            sources[filename] = None
    known = cell_sources.sources_of([f for f in sources if f not in old["sources"]])
    for filename in list(sources):
        text = old["sources"].get(filename, known.get(filename))
        if text is None:
            del sources[filename]
        else:
            sources[filename] = text
    index = store.empty_index()
    index.update(generation=generation, names=names, records=records, files=files, sources=sources)
    return index


def _reason(value, error):
    text = "%s: %s" % (type(value).__name__, error)
    return text if len(text) <= 300 else text[:297] + "..."
