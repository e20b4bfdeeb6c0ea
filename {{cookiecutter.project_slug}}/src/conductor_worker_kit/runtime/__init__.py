# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The `worker` command: the supervisor, its worker processes, the drain, and the one module that talks to the SDK."""
