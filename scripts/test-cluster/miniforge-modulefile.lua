-- alpine-kernel test stand-in for CURC's miniforge module (conda itself is not installable here).
-- `conda activate ENV` activates a python venv found in $CONDA_ENVS_PATH, like conda's envs_dirs:
-- ~/.conda/envs, /projects/$USER/software/anaconda/envs, then the shared /opt/alpine/conda-envs.
-- `conda env create|update -f environment.yml` builds one (conda-env-standin.py, a real build).
help([[conda stand-in: conda activate/deactivate/env list/env create|update|remove -f FILE/info --envs/run -n ENV over python venvs]])
whatis("Name: miniforge (alpine-kernel test stand-in)")
local home = os.getenv("HOME") or ""
local user = os.getenv("USER") or ""
setenv("CONDA_ENVS_PATH", pathJoin(home, ".conda/envs") .. ":/projects/" .. user .. "/software/anaconda/envs:/opt/alpine/conda-envs")
setenv("CONDA_EXE", "conda")
set_shell_function("conda", [==[
_conda_find() { local _p; for _p in $(echo "$CONDA_ENVS_PATH" | tr ':' ' '); do [ -f "$_p/$1/bin/activate" ] && { echo "$_p/$1"; return 0; }; done; return 1; }
case "$1" in
  activate)
    local _d
    case "${2:-}" in /*) _d=$2 ;; "") echo "conda stand-in: no base env; name an env" >&2; return 1 ;; *) _d=$(_conda_find "$2") ;; esac
    if [ -z "$_d" ] || [ ! -f "$_d/bin/activate" ]; then
      echo "EnvironmentNameNotFound: Could not find conda environment: $2" >&2
      echo "You can list all discoverable environments with \`conda info --envs\`." >&2
      return 1
    fi
    [ -n "${CONDA_PREFIX:-}" ] && deactivate 2>/dev/null
    VIRTUAL_ENV_DISABLE_PROMPT=1 . "$_d/bin/activate"
    export CONDA_DEFAULT_ENV=$(basename "$_d") CONDA_PREFIX=$_d CONDA_SHLVL=1 ;;
  deactivate) deactivate 2>/dev/null; unset CONDA_DEFAULT_ENV CONDA_PREFIX; export CONDA_SHLVL=0 ;;
  env|info)
    local _p _e
    # env create/update/remove really build environments (venvs): conda-env-standin.py
    if [ "$1" = env ] && case "${2:-}" in create|update|remove) true ;; *) false ;; esac; then
      shift; /usr/bin/python3 /opt/alpine/conda-standin/conda_env.py "$@"; return $?
    fi
    if [ "${2:-}" = "--json" ] || [ "${3:-}" = "--json" ]; then
      printf '{"envs": ['; _sep=""
      for _p in $(echo "$CONDA_ENVS_PATH" | tr ':' ' '); do for _e in "$_p"/*/bin/activate; do [ -f "$_e" ] || continue; printf '%s"%s"' "$_sep" "${_e%/bin/activate}"; _sep=", "; done; done
      printf ']}\n'
    else
      echo "# conda environments:"; echo "#"
      for _p in $(echo "$CONDA_ENVS_PATH" | tr ':' ' '); do for _e in "$_p"/*/bin/activate; do [ -f "$_e" ] || continue; _e=${_e%/bin/activate}
        printf '%-25s %s %s\n' "$(basename "$_e")" "$([ "$_e" = "${CONDA_PREFIX:-}" ] && echo '*' || echo ' ')" "$_e"; done; done
    fi ;;
  run)
    shift; local _n=""; while [ $# -gt 0 ]; do case "$1" in -n|--name) _n=$2; shift 2 ;; --no-capture-output|--live-stream) shift ;; *) break ;; esac; done
    local _d; _d=$(_conda_find "$_n") || { echo "EnvironmentNameNotFound: Could not find conda environment: $_n" >&2; return 1; }
    PATH="$_d/bin:$PATH" VIRTUAL_ENV=$_d CONDA_PREFIX=$_d CONDA_DEFAULT_ENV=$_n "$@" ;;
  --version|-V) echo "conda 24.11.3" ;;
  *) echo "conda stand-in: supports activate, deactivate, env list, env create|update|remove, info --envs, run -n ENV" >&2; return 1 ;;
esac
]==], "echo conda stand-in: csh is not supported")
