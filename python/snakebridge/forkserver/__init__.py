"""The fork server: one warmed-up Python process that forks stdio workers.

A host on Linux starts ``python -m snakebridge.forkserver`` once per pool; it
imports the worker runtime and the pool's serializer, then forks a worker for
each request, so that growing the pool or replacing a crashed worker costs a
``fork()`` rather than an interpreter start. Each forked worker connects its
own channels back to the host, and from then on is a worker like a spawned
one. The design is in docs/operations.md ("Fork server"), the messages in
docs/protocol.md ("Fork server").
"""
