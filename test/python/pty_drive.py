#!/usr/bin/python3
"""Runs a program on a pseudo-terminal and answers its questions, as a person at a terminal would.

Usage: pty_drive.py ANSWERS_JSON TIMEOUT_SECONDS PROGRAM [ARGS...]
ANSWERS_JSON: [{"expect": REGEX, "answer": TEXT}, ...], answered in order: each answer is typed
(with Enter) once its question has appeared in the output since the previous answer.
Output: the program's terminal output as it came, then one line `PTY_DRIVE {"code": N, "answered": N}`.
"""
import json
import os
import pty
import re
import select
import sys
import time


def main():
    answers = json.loads(sys.argv[1])
    deadline = time.time() + float(sys.argv[2])
    argv = sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    seen = ""
    done = 0
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the program closed the terminal (it exited)
            break
        if not data:
            break
        text = data.decode("utf-8", errors="replace")
        sys.stdout.write(text)
        sys.stdout.flush()
        seen += text
        while done < len(answers) and re.search(answers[done]["expect"], seen):
            os.write(fd, (answers[done]["answer"] + "\r").encode())
            seen = ""
            done += 1
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write("\nPTY_DRIVE %s\n" % json.dumps({"code": code, "answered": done}))


if __name__ == "__main__":
    main()
