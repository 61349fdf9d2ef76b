from benchmarks.apps.flights.server import main

main()
