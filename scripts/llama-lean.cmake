# Included by CMake right after llama.cpp's project() call (scripts/install passes it as
# CMAKE_PROJECT_llama.cpp_INCLUDE when it builds llama-cpp-python from source).
#
# llama-cpp-python forces LLAMA_BUILD_COMMON=ON in its cache, which compiles llama.cpp's
# `llama-common` library (chat templates, argument parsing, HTTP downloads) and cpp-httplib.
# The Python package never loads that library: it calls libllama/libggml through ctypes.
# A normal variable in llama.cpp's directory scope shadows the forced cache entry
# (policy CMP0077), so neither is configured, built nor installed.
set(LLAMA_BUILD_COMMON OFF)
