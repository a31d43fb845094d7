// Preloaded into a profiled service (BENCH_CPU_PROF): Nest re-raises SIGTERM after its shutdown
// hooks and a process killed by a signal writes no --cpu-prof file; a plain exit does.
process.once('SIGTERM', () => process.exit(0));
