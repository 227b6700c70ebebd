"""neuroai_core: the science package of the open NeuroAI course.

Neurons, plasticity and neuromodulated learning, continual learning, offline data,
plotting, widgets and student-facing checks. It imports numpy, torch and matplotlib;
ipywidgets lazily; never the course tooling (that is :mod:`neuroai_course`).
"""

__version__ = "0.2.0"
