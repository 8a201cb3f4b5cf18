// Seconds per phase of one training run as the trainer recorded them (JSON: load, fit,
// writeback, total), for the benchmark's stage table.
MATCH (r:TrainingRun {id: $run})
RETURN r.timings AS timings
