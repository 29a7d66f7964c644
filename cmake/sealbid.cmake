# Helpers that keep the per-layer build files out of each other's way.
# A layer is every .c file in src/<name>/ (not recursing into bin/).

function(sb_layer name)
  cmake_parse_arguments(L "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.c)
  if(NOT srcs)
    add_library(sb_${name} INTERFACE)
    target_link_libraries(sb_${name} INTERFACE ${L_DEPS})
    target_include_directories(sb_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    return()
  endif()
  add_library(sb_${name} STATIC ${srcs})
  if(SB_FUZZ)
    # Coverage instrumentation for libFuzzer's guidance in every layer.
    target_compile_options(sb_${name} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  target_include_directories(sb_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sb_${name} PUBLIC ${L_DEPS})
endfunction()

function(sb_binary name dir)
  cmake_parse_arguments(B "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.c)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_link_libraries(${name} PRIVATE ${B_DEPS})
endfunction()

# The layer a test or fuzz file belongs to, from its name:
# test_<layer>[_more].c / fuzz_<layer>[_more].c link sb_<layer> (and, through
# it, the layers below). Other names link every layer.
set(SB_LAYERS common crypto wire attest aws esdk collab auction kmsd host)
set(SB_ALL_LIBS sb_host sb_kmsd sb_auction sb_collab sb_esdk sb_aws sb_attest sb_wire sb_crypto sb_common)
function(sb_libs_for file outvar)
  get_filename_component(n ${file} NAME_WE)
  string(REGEX REPLACE "^(test|fuzz|bench)_" "" n ${n})
  string(REGEX REPLACE "_.*$" "" layer ${n})
  if(layer IN_LIST SB_LAYERS)
    set(${outvar} sb_${layer} PARENT_SCOPE)
  else()
    set(${outvar} ${SB_ALL_LIBS} PARENT_SCOPE)
  endif()
endfunction()

# sb_unit_test(test_x.c): one cmocka program per module.
function(sb_unit_test src)
  get_filename_component(tname ${src} NAME_WE)
  sb_libs_for(${src} libs)
  add_executable(${tname} ${src})
  target_link_libraries(${tname} PRIVATE ${libs} ${CMOCKA_LINK})
  target_include_directories(${tname} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  target_compile_definitions(${tname} PRIVATE
    SB_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data"
    SB_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  add_test(NAME unit/${tname} COMMAND ${tname})
  set_tests_properties(unit/${tname} PROPERTIES TIMEOUT 300 LABELS unit
    ENVIRONMENT "SB_BIN=${CMAKE_BINARY_DIR}/bin;SB_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data")
endfunction()
