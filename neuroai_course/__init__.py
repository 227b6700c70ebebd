"""neuroai_course: the tooling of the open NeuroAI course and its ``neuroai`` command.

New tutorials, student versions, checks, the website and grading. A distribution of its
own (``neuroai-course``, built from ``neuroai_course/pyproject.toml``) that depends on the
science package ``neuroai-core``; the science package never imports it.
"""
