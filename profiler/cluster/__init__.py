"""Run a suite in jobs: on this machine (``local``) or on a Slurm cluster (``slurm``).

``attnprof run SUITE --executor local|slurm`` plans the suite as a plain run does (same
expansion, same case ids, so ``--resume`` and ``merge`` keep working) and then:

- :mod:`~profiler.cluster.jobs` cuts the pending units into jobs: a whole comparison group
  per job, count cases and other lone cases in batches (a group never spans two jobs);
- :mod:`~profiler.cluster.job` is what a job runs: :func:`~profiler.cluster.job.run_job`, the
  normal runner on its selection of units, writing a part file and where it ran;
- :mod:`~profiler.cluster.executors` submits jobs as local subprocesses or through submitit
  to Slurm, and watches and cancels them;
- :mod:`~profiler.cluster.submit` polls the jobs and merges their parts into one result file
  with each job's host, GPU/CPU, Slurm id, log and outcome.

Slurm submission goes through submitit, an optional dependency (``pip install -e
".[cluster]"``); the local executor needs nothing more than attnprof.
"""
