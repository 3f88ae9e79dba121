"""The exercise skeletons: copy one with ``minidecnn check --start EXERCISE FILE``.

Each file states its task, the shapes and the equations in its docstrings; the
functions a student writes raise :class:`~minidecnn.exercises.Unfinished` until then.
"""
