from emitter.cli import main

main()
