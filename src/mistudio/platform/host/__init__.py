"""The model host: a long-lived process that keeps opened models warm and answers interactive requests.

Jobs load what they need and exit; interactive work (generate now, steering and "activations on my text" next)
cannot pay a model load per request. The host is one child process of the server (or of a CLI command), started
on the first request and started again after it dies. Platform owns the machinery only:
- `registry`: named request handlers; the composition root (`mistudio.domains`) names the modules that define them,
  so platform never imports a domain (the models domain's handlers open and generate; extraction's calibrate);
- `cache`: what the host keeps resident, within a memory budget (least recently used evicted first, idle ones
  unloaded after `MISTUDIO_HOST_IDLE_UNLOAD_SECONDS`);
- `child`: the host process's loop (one request at a time on the device, control messages answered at once);
- `client`: `ModelHost`, the server's side: starts, supervises and talks to the child over a `multiprocessing`
  pipe, streaming a request's events back as they are produced.
"""
