# Transitional: the module moved into this package; it is split by job in the next commit.
from . import params as _impl

globals().update({k: v for k, v in vars(_impl).items() if not k.startswith("__")})
