from cgraph_cli.cli import main

main()
