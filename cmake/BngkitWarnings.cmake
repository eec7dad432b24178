# Warning flags applied to bngkit's own targets (not to consumers).
function(bngkit_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
    -Wno-missing-field-initializers)  # designated initialisers may omit defaulted members
  if(BNGKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
