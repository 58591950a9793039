"""What the cell being written binds a name to, before the line the cursor is on.

`x = [1, 2]` then `x.ex`: the namespace does not know `x` (or knows an older value of it), jedi
does but takes 0.3-1 s on a loaded machine. The cell's own code answers when the name's last
binding is a plain assignment of a literal; any other binding (a call, a loop, an import, a def,
one inside a block) is jedi's to follow; a name the cell does not bind, or lines that do not parse
(the cursor inside an open bracket), are the namespace's.
Nothing is run: the code is only parsed.
"""
import ast

_LITERAL_TYPES = {
    ast.List: list,
    ast.ListComp: list,
    ast.Dict: dict,
    ast.DictComp: dict,
    ast.Set: set,
    ast.SetComp: set,
    ast.Tuple: tuple,
    ast.JoinedStr: str,
}
_CONSTANT_TYPES = (str, bytes, int, float, complex)
# Parsing costs ~3 ms per 100 lines on a loaded machine, on every keystroke: longer cells (before
# the cursor) are left to the namespace, as they were.
_MAX_PARSED = 20_000

NOT_BOUND = None
FOLLOW_THE_CODE = False


def last_binding(text, name):
    """The builtin type the cell's lines before the cursor's last bound `name` to as a literal;
    NOT_BOUND when they do not bind it; FOLLOW_THE_CODE when only jedi can tell."""
    head = text[: text.rfind("\n") + 1]
    if name not in head or len(head) > _MAX_PARSED:
        return NOT_BOUND
    lines = ["" if line.lstrip()[:1] in ("%", "!") else line for line in head.split("\n")]
    # The cursor's line may be the body of a block the lines before open (`for ...:`).
    line = text[len(head) :]
    lines[-1] = line[: len(line) - len(line.lstrip())] + "pass"
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return NOT_BOUND  # mid-expression, broken or too deep above: the namespace's, as without this
    last = None
    for statement in tree.body:
        source = "\n".join(lines[statement.lineno - 1 : getattr(statement, "end_lineno", len(lines))])
        if name in source and _binds(statement, name):
            last = statement
    if last is None:
        return NOT_BOUND
    if isinstance(last, ast.Assign) and len(last.targets) == 1:
        target, value = last.targets[0], last.value
        if isinstance(target, ast.Name) and target.id == name:
            if isinstance(value, ast.Constant) and type(value.value) in _CONSTANT_TYPES:
                return type(value.value)
            if type(value) in _LITERAL_TYPES:
                return _LITERAL_TYPES[type(value)]
    return FOLLOW_THE_CODE


def _binds(statement, name):
    """Does this statement bind (or delete) `name` anywhere in it? Nested scopes count too: the
    answer is then jedi's, which is never wrong, only slower."""
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
        if isinstance(node, (ast.ExceptHandler, ast.Global, ast.Nonlocal)) and name in _names_of(node):
            return True
        if type(node).__name__ in ("MatchAs", "MatchStar", "MatchMapping") and name in _names_of(node):
            return True
    return False


def _names_of(node):
    names = getattr(node, "names", None)
    if isinstance(names, list):
        return names
    return [n for n in (getattr(node, "name", None), getattr(node, "rest", None)) if n]
