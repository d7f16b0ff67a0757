from songspace.cli import main

main()
