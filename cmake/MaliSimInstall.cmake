# Install the library, its headers and a CMake package so that find_package(mali_sim CONFIG) works.
include(CMakePackageConfigHelpers)

# Every layer target and the umbrella mali_sim::mali_sim that links them all.
install(TARGETS mali_sim ${MALI_SIM_LAYERS} EXPORT mali_simTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/mali_sim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT mali_simTargets NAMESPACE mali_sim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mali_sim)

configure_package_config_file(cmake/mali_simConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/mali_simConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mali_sim)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/mali_simConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mali_simConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/mali_simConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mali_sim)
