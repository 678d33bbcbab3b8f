from causal_semloss.report.build import main

if __name__ == "__main__":
    main()
