"""Course tooling behind the ``neuroai`` command: release, check, book, build.

Needs the optional extra ``neuroai-core[course]`` (nbgrader, jupyter-book, nbclient).
The science package never imports this subpackage.
"""
