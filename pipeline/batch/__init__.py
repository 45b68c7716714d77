"""Running batches: the runner (stages in order, cache, resume), executors
(local process pool, Dask) and the batch status report."""
