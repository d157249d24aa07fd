"""The model service: one model answering many clients' model calls (see :mod:`.calls`, :mod:`.client`)."""
