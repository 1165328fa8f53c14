import FuzzSupport
runFuzzer { _, _ in 0 }
