// Preloaded (with --expose-gc) into the instances whose memory the benchmark reports: SIGWINCH
// runs a full garbage collection, so heap figures count live data, not garbage not yet collected.
// SIGWINCH because Nest's shutdown hooks take SIGUSR2, and its default action is to do nothing.
process.on('SIGWINCH', () => global.gc());
