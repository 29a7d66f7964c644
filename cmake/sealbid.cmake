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

# sb_unit_test(test_x.c): one cmocka program per module, linked with every
# layer (tests may reach across layers to build fixtures).
function(sb_unit_test src)
  get_filename_component(tname ${src} NAME_WE)
  add_executable(${tname} ${src})
  target_link_libraries(${tname} PRIVATE sb_host sb_kmsd sb_auction sb_aws
                        sb_attest sb_wire sb_crypto sb_common ${CMOCKA_LINK})
  target_include_directories(${tname} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  target_compile_definitions(${tname} PRIVATE
    SB_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data"
    SB_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  add_test(NAME unit/${tname} COMMAND ${tname})
  set_tests_properties(unit/${tname} PROPERTIES TIMEOUT 300 LABELS unit)
endfunction()
