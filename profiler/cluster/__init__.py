"""Run a suite in jobs: on this machine (``local``) or on a Slurm cluster (``slurm``).

``attnprof run SUITE --executor local|slurm`` plans the suite as a plain run does (same
expansion, same case ids, so ``--resume`` and ``merge`` keep working), cuts its pending units
into jobs (:mod:`~profiler.cluster.jobs`: a whole comparison group per job, count cases and
other lone cases in batches; a group never spans two jobs), runs every job through an
executor (:mod:`~profiler.cluster.executors`; the job itself is :func:`~profiler.cluster.job.
run_job`, the normal runner on its selection of units, writing a part file), shows their
progress, and merges the parts into one result file with each job's host, Slurm id, log and
outcome (:mod:`~profiler.cluster.submit`).

Slurm submission goes through submitit, an optional dependency (``pip install -e
".[cluster]"``); the local executor needs nothing more than attnprof.
"""
