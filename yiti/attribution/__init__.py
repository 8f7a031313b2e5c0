"""联动营销 / 利益分配: touches, conversion paths, attribution models and credit allocation."""
