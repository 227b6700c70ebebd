"""Grading a hand-in, split along its trust boundary (privilege separation).

Three sides, each in modules named for it:

- **privileged** (:mod:`.privileged`, root on a grading machine): makes a hand-in's
  cgroups, its scratch mount and its connection file, starts the sandbox launcher
  (:mod:`.sandbox`) and the grader process, and cleans up. It never opens, writes, chmods,
  follows or deletes a path inside a folder the sandbox can write (the scratch is a tmpfs
  it only mounts and unmounts), and never parses what the kernel sends.
- **unprivileged** (:mod:`.unprivileged`, the grader process: a user of its own, with its own
  memory cap): talks to the student's kernel (:mod:`.channel`), decodes its replies (JSON
  and plain ``.npy`` arrays only, size-capped), runs the test cells and computes the score.
  Arguments go to the kernel inline over the kernel's socket, never through a file.
- **sandbox** (:mod:`.kernel_agent` runs there): the student's kernel, ``nobody`` in
  bubblewrap with no nested user namespaces and a seccomp filter; whatever it writes,
  prints or returns is hostile input.

:mod:`.limits` holds the bounds all three agree on.
"""
