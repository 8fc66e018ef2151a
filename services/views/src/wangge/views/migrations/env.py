from wangge.service.migrations import run_env

run_env()
