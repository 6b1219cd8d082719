from posewarp.cli.main import main

main()
