"""Parse workers: article pages parsed in worker processes beside the crawler's event loop.

pool.py starts and feeds the workers (`ParsePool`), frames.py is the wire format between the
crawler and a worker, and prepare.py is the CPU work on one page (parse, cap, fingerprint) that a
worker, or the crawler itself when it has no workers, runs.
"""
