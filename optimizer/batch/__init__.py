"""Many runs at once: scenario batches, Monte Carlo samples, and the executors they run on."""
