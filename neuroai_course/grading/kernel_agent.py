"""The kernel's side of the channel: code the grader runs once in the student's kernel,
after the notebook's cells. It runs in the sandbox, so nothing it sends back is trusted.

Each call arrives inline in the code the grader executes (a base64 pickle of the
arguments, made by the grader: the grader's data, read by the kernel), so no file is ever
written where the kernel could plant a link. The agent calls the student's function and
replies with one object whose display is of :data:`MIME`: JSON holding the result as data (numbers,
strings, ``.npy`` arrays, tuples, lists, dicts), and every array argument the function
changed in place, so that the grader's tests can see the change. The reply travels in
the execution's own reply on the shell channel (as the user expression :data:`EXPRESSION`),
not on the output stream that the student's code can flood.
"""

MIME = "application/x-neuroai-result+json"
REFERENCE_ERROR = "NeuroaiReferenceUnavailable"
#: Evaluated after each call (an execute request's user expression): the call's reply.
EXPRESSION = "__neuroai_agent__.last()"

AGENT = r'''
def __neuroai_agent_factory():
    import base64, io, json, pickle
    import numpy as np
    from IPython import get_ipython
    MIME = "__MIME__"
    state = {"last": None}

    class Reply:
        def __init__(self, text):
            self.text = text

        def _repr_mimebundle_(self, include=None, exclude=None):
            return {MIME: self.text}

    def is_tensor(value):
        return type(value).__module__.startswith("torch") and hasattr(value, "detach")

    def encode(value, depth=0):
        if depth > 32:
            raise TypeError("the result is nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and value != value:
                return {"__float__": "nan"}
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                return {"__float__": "inf" if value > 0 else "-inf"}
            return value
        if isinstance(value, np.generic):
            return encode(value.item(), depth + 1)
        kind = "__nd__"
        if is_tensor(value):
            value, kind = value.detach().cpu().numpy(), "__tensor__"
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError("an array of Python objects cannot be sent back")
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=False)
            return {kind: base64.b64encode(buf.getvalue()).decode()}
        if isinstance(value, tuple):
            return {"__tuple__": [encode(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [encode(v, depth + 1) for v in value]
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, (str, int)):
                    raise TypeError(f"a dict key of type {type(k).__name__} cannot be sent back")
                items.append([k, encode(v, depth + 1)])
            return {"__dict__": items}
        raise TypeError(f"a {type(value).__name__} cannot be sent back to the grader")

    def snapshot(args, kwargs):
        keep = {}
        for key, value in [*enumerate(args), *kwargs.items()]:
            if isinstance(value, np.ndarray) and value.dtype != object:
                keep[key] = value.copy()
            elif is_tensor(value):
                keep[key] = value.detach().clone()
        return keep

    def changed(args, kwargs, before):
        out = []
        for key, old in before.items():
            new = args[key] if isinstance(key, int) else kwargs[key]
            if is_tensor(new):
                same = new.shape == old.shape and bool((new.detach() == old).all())
            else:
                same = np.array_equal(new, old, equal_nan=True)
            if not same:
                out.append([key, encode(new)])
        return out

    def reply(payload):
        state["last"] = Reply(json.dumps(payload))

    def call(name, blob, mode):
        state["last"] = None
        ns = get_ipython().user_ns
        try:
            args, kwargs = pickle.loads(base64.b64decode(blob))
            fn = ns.get(name)
            if not callable(fn):
                reply({"error": {"type": "NameError",
                                 "message": f"{name} is not defined in the notebook"}})
                return
            if mode == "backward":
                model = args[0]
                model.zero_grad(set_to_none=True)
                value = fn(*args, **kwargs)
                if not hasattr(value, "backward"):
                    raise TypeError(f"{name} returned {type(value).__name__}, not a torch "
                                    "tensor: keep the result a torch expression")
                if value.requires_grad:
                    value.backward()
                grads = {n: (None if p.grad is None else p.grad.detach().clone())
                         for n, p in model.named_parameters()}
                reply({"value": encode((float(value.detach()), grads)), "changed": []})
                return
            before = snapshot(args, kwargs)
            result = fn(*args, **kwargs)
            reply({"value": encode(result), "changed": changed(args, kwargs, before)})
        except BaseException as err:
            reply({"error": {"type": type(err).__name__, "message": str(err)[:500]}})

    def student(name):
        return get_ipython().user_ns[name]

    import sys, types
    module = types.ModuleType("__neuroai_remote__")
    module.student = student
    sys.modules["__neuroai_remote__"] = module
    return type("Agent", (), {"call": staticmethod(call),
                              "last": staticmethod(lambda: state["last"])})

__neuroai_agent__ = __neuroai_agent_factory()
del __neuroai_agent_factory
'''.replace("__MIME__", MIME)
