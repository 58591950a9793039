"""Large buffers of the store, memory-mapped copy-on-write, and how to tell whether a cell wrote to them.

A buffer file is mapped privately (MAP_PRIVATE): reading a slice of a 20 GB array reads only that
slice's pages, and writing to the array changes this process's copy of the touched pages, never
the file. Whether a mapped buffer was written is read from /proc/self/pagemap: a page the cell
wrote became an anonymous page (present, not file-backed) or was swapped out; a page never touched
is not present; a page only read is a present file page. That costs 8 bytes of pagemap per 4 KiB
page, not a pass over the data. Where pagemap cannot be read (not Linux), the mapped bytes are
compared with the file instead (correct, but it reads the buffer).
"""
import bisect
import mmap
import os
import struct
import sys

PAGE = mmap.PAGESIZE
_PAGEMAP_CHUNK = 1 << 20  # entries per read (8 MiB of pagemap = 4 GiB of mapped memory)
_COMPARE_CHUNK = 1 << 24


def buffer_address(view):
    """Start address of a contiguous memoryview, or None when it cannot be had without a copy."""
    if view.nbytes == 0:
        return None
    if not view.readonly:
        import ctypes

        return ctypes.addressof(ctypes.c_char.from_buffer(view))
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        return int(numpy.frombuffer(view, numpy.uint8).ctypes.data)
    return None


class MappedFiles(object):
    """The buffer files of one store mapped by this process, by start address."""

    def __init__(self, store_dir):
        self.store_dir = store_dir
        self._views = {}  # file name -> memoryview of its private mapping
        self._starts = []  # sorted start addresses
        self._regions = {}  # start address -> (end address, file name)
        self.mapped_bytes = 0
        self._pagemap_ok = None

    def view(self, name, offset, length):
        """Bytes [offset, offset+length) of buffer file `name`, mapped copy-on-write (writable)."""
        whole = self._views.get(name)
        if whole is None:
            whole = self._map(name)
        if offset + length > whole.nbytes:
            raise ValueError("buffer file %s is shorter than its index says" % name)
        self.mapped_bytes += length
        return whole[offset : offset + length]

    def _map(self, name):
        fd = os.open(os.path.join(self.store_dir, name), os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            region = mmap.mmap(fd, size, access=mmap.ACCESS_COPY) if size else bytearray()
        finally:
            os.close(fd)
        whole = memoryview(region)
        self._views[name] = whole
        start = buffer_address(whole)
        if start is not None:
            bisect.insort(self._starts, start)
            self._regions[start] = (start + size, name)
        return whole

    def locate(self, address, length):
        """(file name, offset) when [address, address+length) lies inside one mapped file."""
        if address is None or not self._starts:
            return None
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        start = self._starts[i]
        end, name = self._regions[start]
        if address + length > end:
            return None
        return name, address - start

    def unchanged(self, address, length, name, offset):
        """True when this process has not written to the mapped range (so the file still holds it)."""
        if self._pagemap_ok is not False:
            dirty = _pagemap_dirty(address, length)
            if dirty is not None:
                self._pagemap_ok = True
                return not dirty
            self._pagemap_ok = False
        return self._same_as_file(address, length, name, offset)

    def _same_as_file(self, address, length, name, offset):
        start = address - offset
        view = self._views[name]
        if buffer_address(view) != start:
            return False
        with open(os.path.join(self.store_dir, name), "rb") as f:
            done = 0
            while done < length:
                n = min(_COMPARE_CHUNK, length - done)
                if os.pread(f.fileno(), n, offset + done) != view[offset + done : offset + done + n]:
                    return False
                done += n
        return True


def _pagemap_dirty(address, length):
    """Whether any page of the range was written (or swapped out); None when pagemap is unreadable."""
    first = address // PAGE
    count = (address + length - 1) // PAGE - first + 1
    try:
        fd = os.open("/proc/self/pagemap", os.O_RDONLY)
    except OSError:
        return None
    try:
        done = 0
        while done < count:
            n = min(_PAGEMAP_CHUNK, count - done)
            data = os.pread(fd, n * 8, (first + done) * 8)
            if len(data) != n * 8:
                return None
            if _any_dirty(data):
                return True
            done += n
        return False
    except OSError:
        return None
    finally:
        os.close(fd)


_SWAPPED, _FILE_PAGE, _PRESENT = 1 << 62, 1 << 61, 1 << 63


def _any_dirty(data):
    if data.count(0) == len(data):  # nothing present: never touched
        return False
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        entries = numpy.frombuffer(data, dtype="<u8")
        swapped = (entries & numpy.uint64(_SWAPPED)) != 0
        anonymous = (entries & numpy.uint64(_PRESENT | _FILE_PAGE)) == numpy.uint64(_PRESENT)
        return bool(numpy.any(swapped | anonymous))
    for (entry,) in struct.iter_unpack("<Q", data):
        if entry & _SWAPPED or (entry & _PRESENT and not entry & _FILE_PAGE):
            return True
    return False
