"""attnprof's tests (a package, so that ``tests.helpers`` imports as ``package.module:attr``)."""
