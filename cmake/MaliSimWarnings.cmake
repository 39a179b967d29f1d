# Warning and sanitizer flags shared by every target of the project.
add_library(mali_sim_warnings INTERFACE)
target_compile_options(mali_sim_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                   -Wno-sign-conversion)
if(MALI_SIM_WARNINGS_AS_ERRORS)
  target_compile_options(mali_sim_warnings INTERFACE -Werror)
endif()

if(MALI_SIM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MALI_SIM_FUZZ needs clang (libFuzzer): configure with the 'fuzz' preset")
  endif()
  # Coverage for libFuzzer in every object, the sanitizers to turn bugs into crashes.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(MALI_SIM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
