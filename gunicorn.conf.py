"""gunicorn settings for the VectorCraft web nodes: `gunicorn -c gunicorn.conf.py`.

Every value can be changed through the environment (listed in README.md and docs/DEPLOY.md).
"""

import multiprocessing
import os

wsgi_app = "vectorcraft.wsgi:application"

# nginx on the same machine proxies to this address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads, not only processes: `?wait=` on job creation and slow uploads hold a thread while
# waiting, and a thread costs far less memory than a process.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# A request may wait up to API_MAX_WAIT_SECONDS (30) for its job; leave room for the upload.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5

# What gunicorn can bound of a request before a view sees it (it has no timeout for reading
# headers: nginx, in front, cuts slow clients off; see docs/DEPLOY.md). The site needs no long
# URLs and few headers.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Recycle processes now and then so slow leaks never build up; jitter avoids all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = max_requests // 10

# Access and error logs to stdout/stderr; the journal keeps them.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms req=%({x-request-id}o)s'

# The proxy's X-Forwarded-Proto is trusted only from these addresses (nginx on loopback).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's control socket (for `gunicornc`): in the unit's RuntimeDirectory under systemd
# (docs/DEPLOY.md). Elsewhere it is off: its default path, in $HOME, is not writable for a
# service account, and several nodes on one machine would share it.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"], "gunicorn.ctl")
else:
    control_socket_disable = True

# Import Django once in the master so workers fork with it loaded (faster start, shared pages).
preload_app = True
